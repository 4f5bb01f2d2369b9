"""Operator commands: each module here exposes a typer `app` (e.g. branch import, core-banking
events), mounted by name under `python -m infra.local.cli <name> ...`."""
from __future__ import annotations

import importlib
import logging
import pkgutil
from pathlib import Path

logger = logging.getLogger("infra.cli")


def sub_apps() -> dict[str, object]:
    """{command name: typer app} for every module of this package that has an `app`;
    a module that fails to import is skipped with a warning, so one broken command never
    takes the others (or `make run`) down."""
    found: dict[str, object] = {}
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"{__name__}.{info.name}")
        except Exception as error:  # noqa: BLE001 - reported, the rest still mount
            logger.warning("infra/cli/%s.py not mounted: %s", info.name, error)
            continue
        if getattr(module, "app", None) is not None:
            found[info.name.replace("_", "-")] = module.app
    return found

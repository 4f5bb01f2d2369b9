"""Run osls (the deploy tool) for this repository, the same way from the Makefile, the deploy
planner and the tests: the options every command of this service takes, an environment
without telemetry, and one osls at a time per checkout.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OSLS = ROOT / "node_modules" / ".bin" / "osls"


def layer_zip(arch: str) -> Path:
    return ROOT / "build" / "layer" / f"runtime-{arch}.zip"


def osls_args(stage: str, arch: str = "x86_64", layer: Path | None = None) -> list[str]:
    """The options every osls command of this service takes."""
    layer = layer or layer_zip(arch)
    return ["--stage", stage, f"--param=architecture={arch}", f"--param=runtimeLayerZip={layer}"]


def osls_env() -> dict[str, str]:
    """osls without its telemetry and update notices (nothing leaves the machine)."""
    return {**os.environ, "SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off", "CI": "1"}


@contextlib.contextmanager
def exclusive():
    """One osls at a time in this checkout: osls uses `<service>/.serverless` as scratch
    space whatever `--package` says, so two concurrent runs would clobber each other."""
    lock = ROOT / "build" / ".osls.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

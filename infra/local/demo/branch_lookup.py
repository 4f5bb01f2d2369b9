"""Demo branches of 甬城银行, a fictional Ningbo bank: 67 branches, sub-branches and
self-service banks across Ningbo's ten districts and counties (GCJ-02), with hours, lunch
breaks, 2026 holiday exceptions and services. Other features' tests seed their own branches
with `load(branches=[...])`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_suffix(".json")


def load(branches: list[dict[str, Any]] | None = None) -> int:
    """Upsert the demo set, or the given branches (common/branches.py schema); idempotent.
    Returns how many were written."""
    from functions.branch_lookup import importing, store

    rows = branches if branches is not None else json.loads(DATA.read_text(encoding="utf-8"))
    valid = []
    for row in rows:
        branch, errors = importing.validate(row)
        if errors:
            detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
            raise ValueError(f"branch {row.get('id')!r} is invalid: {detail}")
        valid.append(branch)
    return store.save_all(valid)

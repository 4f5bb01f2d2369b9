"""Demo staff of every role and two branches in the local staff pool (infra/local/idp.py)."""
from __future__ import annotations

from infra.local.idp import load

__all__ = ["load"]

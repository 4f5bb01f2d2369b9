"""Demo roster of customer managers for the bookable demo branches (fictional names). Each
bookable branch gets two to four managers; their skills follow what the branch offers, and
every branch can open accounts and take other business."""
from __future__ import annotations

import hashlib
import json
from typing import Any

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ("丽", "伟", "芳", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "霞", "平", "刚")
# branch_lookup's service codes that are also booking services
SKILLED = ("wealth", "loans", "fx", "credit_card")


def _pick(seed: str, n: int) -> int:
    return int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16) % n


def roster_for(branch: dict[str, Any]):
    """Managers of one branch, the same on every run."""
    from functions.booking.service import Manager

    offered = [s for s in SKILLED if s in (branch.get("services") or [])]
    count = 2 + _pick(branch["id"] + "#count", 3)
    managers = []
    for i in range(count):
        seed = f"{branch['id']}#{i}"
        name = SURNAMES[_pick(seed + "s", len(SURNAMES))] + GIVEN[_pick(seed + "g", len(GIVEN))]
        # each manager covers every other skill of the branch, starting at their own offset
        skills = {s for j, s in enumerate(offered) if (j + i) % 2 == 0} or set(offered[:1])
        if i == 0:
            skills |= {"account", "other"}
        if i == 1:
            skills |= set(offered[:1]) | {"account"}
        managers.append(Manager(f"{branch['id']}-M{i + 1}", name, frozenset(skills)))
    return managers


def load(branches: list[dict[str, Any]] | None = None) -> int:
    """Write the roster of every bookable branch (the demo set unless given); idempotent.
    Returns how many managers were written."""
    from functions.booking import store
    from infra.local.demo import branch_lookup

    rows = branches if branches is not None else json.loads(branch_lookup.DATA.read_text(encoding="utf-8"))
    written = 0
    for branch in rows:
        if not branch.get("bookable"):
            continue
        for manager in roster_for(branch):
            store.put_manager(branch["id"], manager)
            written += 1
    return written

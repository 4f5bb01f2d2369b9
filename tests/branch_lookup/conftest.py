"""Fixtures for branch_lookup: moto with the demo branches, and a few branches built to
order for the cases the demo set does not pin down."""
from __future__ import annotations

import pytest


def make_branch(branch_id: str, lat: float, lng: float, **overrides) -> dict:
    """A valid branch in the published schema; weekdays 09:00-12:00 and 13:30-17:00."""
    weekday = [["09:00", "12:00"], ["13:30", "17:00"]]
    branch = {
        "id": branch_id, "name": f"甬城银行测试{branch_id}支行", "kind": "branch",
        "address": f"宁波市鄞州区测试路{len(branch_id)}号", "district": "鄞州区", "city": "宁波市",
        "phone": "0574-87000000", "lat": lat, "lng": lng, "services": ["cash", "atm", "loans"],
        "bookable": True, "hours": {d: weekday for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [], "sun": []},
        "exceptions": [],
    }
    branch.update(overrides)
    return branch


@pytest.fixture
def demo(aws):
    """moto with the demo set loaded; yields the loaded count."""
    from infra.local.demo import branch_lookup

    yield branch_lookup.load()

"""The branch query other features use (functions/common/branches.py), through the Lambda
API as they call it."""
from __future__ import annotations

import pytest

from tests.branch_lookup.conftest import make_branch


@pytest.fixture
def seeded(aws):
    from infra.local.demo import branch_lookup

    branch_lookup.load([
        make_branch("Q1", 29.870, 121.550, bookable=False),
        make_branch("Q2", 29.875, 121.555, services=["cash", "loans"]),
        make_branch("Q3", 29.900, 121.600, services=["fx"]),
    ])


def test_get_in_the_order_asked_skipping_unknown(seeded):
    from functions.common import branches

    found = branches.get(["Q3", "missing", "Q1"])
    assert [b["id"] for b in found] == ["Q3", "Q1"]
    assert set(found[0]) == {"id", "name", "kind", "address", "district", "city", "phone", "lat", "lng", "services",
                             "bookable", "hours", "exceptions"}
    assert found[0]["hours"]["mon"] == [["09:00", "12:00"], ["13:30", "17:00"]]


def test_nearest_by_point_with_filters(seeded):
    from functions.common import branches

    found = branches.nearest(3, lat=29.870, lng=121.550)
    assert [b["id"] for b in found] == ["Q1", "Q2", "Q3"] and found[0]["distance_m"] == 0
    assert [b["id"] for b in branches.nearest(5, lat=29.870, lng=121.550, bookable=True)] == ["Q2", "Q3"]
    assert [b["id"] for b in branches.nearest(5, lat=29.870, lng=121.550, service="fx")] == ["Q3"]


def test_nearest_from_the_users_last_location(seeded):
    from functions.branch_lookup import replies
    from functions.common import branches
    from functions.common.intents import Intent, Location

    assert branches.nearest(2, openid="o-unknown") == []
    replies.answer(Intent(kind="location_report", openid="o-q", location=Location(29.901, 121.601)))
    assert [b["id"] for b in branches.nearest(2, openid="o-q")] == ["Q3", "Q2"]


def test_bad_requests_fail_the_invocation(seeded):
    from functions.common import aws

    for bad in ({"op": "drop"}, {"op": "nearest", "k": 0, "lat": 29.8, "lng": 121.5},
                {"op": "nearest", "k": 3, "lat": 99, "lng": 121.5}):
        with pytest.raises(RuntimeError, match="'errorType': 'ValueError'"):
            aws.invoke("branchLookupQuery", bad, 3)


def test_a_list_gives_summaries_from_the_catalogue_with_distances_when_located(seeded):
    from functions.branch_lookup import replies
    from functions.common import branches
    from functions.common.intents import Intent, Location

    listed = branches.summaries(["Q3", "Q1", "nope"], openid="o-unknown")
    assert [b["id"] for b in listed] == ["Q3", "Q1"] and all("distance_m" not in b for b in listed)
    assert "hours" not in listed[0] and {"name", "address", "district", "lat", "lng", "bookable"} <= set(listed[0])
    assert [b["id"] for b in branches.summaries(["Q1", "Q2", "Q3"], bookable=True)] == ["Q2", "Q3"]
    replies.answer(Intent(kind="location_report", openid="o-g", location=Location(29.901, 121.601)))
    found = {b["id"]: b["distance_m"] for b in branches.summaries(["Q1", "Q2", "Q3"], openid="o-g")}
    assert found["Q3"] < found["Q2"] < found["Q1"]

"""branch_lookup's routes answer what docs/api/branch_lookup.yaml documents."""
from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from chalice.test import Client

from scripts import openapi_check as oc
from tests.docs.conformance import fetched

SPEC = oc.load("branch_lookup")
HOURS = [["09:00", "17:00"]]


def branch(branch_id: str, name: str, lat: float, **extra) -> dict:
    return {"id": branch_id, "name": name, "kind": "branch", "address": f"宁波市鄞州区{name}路1号",
            "district": "鄞州区", "city": "宁波市", "phone": "0574-88888888", "lat": lat, "lng": 121.55,
            "services": ["cash", "atm"], "bookable": False, "hours": {"mon": HOURS, "tue": HOURS},
            "exceptions": [{"date": "2026-12-25", "hours": [], "note": "盘点"}], **extra}


@pytest.fixture
def client(aws, frozen_clock):
    from functions.branch_lookup.app import app
    from infra.local.demo import branch_lookup

    frozen_clock(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))  # Monday 10:00 in Ningbo
    branch_lookup.load(branches=[branch("D01", "文档", 29.82), branch("D02", "规范", 29.83, kind="self_service")])
    with Client(app) as c:
        yield c


def get(client, template: str, url: str):
    return fetched(SPEC, client, template, url)


def test_json_routes_match_the_documented_answers(client):
    status, near = get(client, "/branches/api/nearby", "/branches/api/nearby?lat=29.82&lng=121.55&k=2&open_now=true")
    assert status == 200 and [b["id"] for b in near["branches"]] == ["D01", "D02"]
    assert near["branches"][0]["status"]["state"] == "open"
    status, found = get(client, "/branches/api/search", "/branches/api/search?q=" + quote("规范"))
    assert status == 200 and [b["id"] for b in found["branches"]] == ["D02"]
    status, one = get(client, "/branches/api/branch/{branch_id}", "/branches/api/branch/D01")
    assert status == 200 and one["url"].endswith("/branches/view/D01")
    assert get(client, "/branches/health", "/branches/health") == (200, {"status": "ok"})


def test_refusals_match_the_documented_error_shape(client):
    status, bad = get(client, "/branches/api/nearby", "/branches/api/nearby?lat=91&k=0&kind=bank&open_now=maybe")
    assert status == 400
    assert {(f["field"], f["code"]) for f in bad["fields"]} == {
        ("lat", "out_of_range"), ("lng", "required"), ("k", "out_of_range"), ("kind", "unknown_kind"),
        ("open_now", "invalid_bool")}
    status, bad = get(client, "/branches/api/search", "/branches/api/search?q=" + "路" * 51)
    assert (status, bad["fields"][0]["code"]) == (400, "too_long")
    status, bad = get(client, "/branches/api/branch/{branch_id}", "/branches/api/branch/NOPE")
    assert (status, bad["code"]) == (404, "not_found")
    status, bad = get(client, "/branches/api/jssdk", "/branches/api/jssdk?url=" + quote("https://evil.example/"))
    assert (status, bad["fields"][0]["code"]) == (400, "invalid_url")


def test_pages_match_the_documented_answers(client):
    assert get(client, "/branches/view/{branch_id}", "/branches/view/D01")[0] == 200
    assert get(client, "/branches/view/{branch_id}", "/branches/view/NOPE")[0] == 404
    assert get(client, "/branches/search", "/branches/search?q=" + quote("文档"))[0] == 200

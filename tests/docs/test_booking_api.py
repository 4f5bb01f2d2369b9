"""booking's routes answer what docs/api/booking.yaml documents, on a real journey (moto,
branch data through branchLookupQuery) and on its refusals."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from chalice.test import Client

from scripts import openapi_check as oc
from tests import sessions
from tests.docs.conformance import conforms
from tests.staff_tokens import CUSTOMER_MANAGER, staff

SPEC = oc.load("booking")
HOURS = [["09:00", "12:00"], ["13:30", "17:00"]]
MONDAY_8AM = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # 08:00 in Ningbo
TUESDAY_9AM = "2026-12-01T01:00:00Z"


@pytest.fixture
def client(aws, frozen_clock):
    from functions.booking import store
    from functions.booking.app import app
    from functions.booking.service import Manager
    from infra.local.demo import branch_lookup

    frozen_clock(MONDAY_8AM)
    branch_lookup.load(branches=[{
        "id": "D01", "name": "文档支行", "kind": "branch", "address": "宁波市鄞州区文档路1号", "district": "鄞州区",
        "city": "宁波市", "phone": "0574-88888888", "lat": 29.82, "lng": 121.55, "services": ["cash", "wealth"],
        "bookable": True, "hours": {d: HOURS for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [], "sun": []},
        "exceptions": [],
    }])
    store.put_manager("D01", Manager("m1", "王芳", frozenset({"wealth"})))
    with Client(app) as c:
        yield c


def manager() -> dict[str, str]:
    return staff(CUSTOMER_MANAGER, branch="D01")


def customer(openid: str = "o_docs_1") -> dict[str, str]:
    return sessions.customer(openid)


FORM = {"branch_id": "D01", "service": "wealth", "slot_start": TUESDAY_9AM, "name": "张三", "mobile": "13812345678"}


def call(client, method: str, template: str, url: str, headers: dict, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    response = client.http.request(method, url, headers=headers, body=data)
    return response.status_code, conforms(SPEC, method, template, response)


def test_customer_journey_matches_the_documented_answers(client):
    me = customer()
    assert call(client, "GET", "/booking/health", "/booking/health", {}) == (200, {"status": "ok"})
    status, listed = call(client, "GET", "/booking/api/branches", "/booking/api/branches", me)
    assert status == 200 and [b["id"] for b in listed["branches"]] == ["D01"]
    status, slots = call(client, "GET", "/booking/api/slots", "/booking/api/slots?branch_id=D01&service=wealth"
                         "&date=2026-12-01", me)
    assert status == 200 and slots["slots"][0]["start"] == TUESDAY_9AM

    status, made = call(client, "POST", "/booking/api/bookings", "/booking/api/bookings", me,
                        {**FORM, "idempotency_key": "docs-1"})
    assert status == 201 and made["booking"]["status"] == "confirmed"
    booking_id = made["booking"]["id"]
    one = "/booking/api/bookings/{booking_id}"
    assert call(client, "GET", one, f"/booking/api/bookings/{booking_id}", me)[1] == made
    status, mine = call(client, "GET", "/booking/api/bookings", "/booking/api/bookings", me)
    assert [b["id"] for b in mine["bookings"]] == [booking_id]

    status, moved = call(client, "POST", one + "/reschedule", f"/booking/api/bookings/{booking_id}/reschedule", me,
                         {"slot_start": "2026-12-01T01:30:00Z"})
    assert status == 200 and moved["booking"]["slot_start"] == "2026-12-01T01:30:00Z"
    status, day = call(client, "GET", "/booking/staff/branches/{branch_id}/bookings",
                       "/booking/staff/branches/D01/bookings?date=2026-12-01", manager())
    assert status == 200 and [b["id"] for b in day["bookings"]] == [booking_id]
    status, cancelled = call(client, "POST", one + "/cancel", f"/booking/api/bookings/{booking_id}/cancel", me, {})
    assert status == 200 and cancelled["booking"]["status"] == "cancelled"
    status, refused = call(client, "POST", "/booking/staff/bookings/{booking_id}/outcome",
                           f"/booking/staff/bookings/{booking_id}/outcome", manager(), {"status": "attended"})
    assert status == 409 and refused["code"] == "not_active"


def test_refusals_match_the_documented_error_shape(client):
    me = customer()
    status, bad = call(client, "POST", "/booking/api/bookings", "/booking/api/bookings", me,
                       {**FORM, "mobile": "123", "name": ""})
    assert status == 400 and {f["field"] for f in bad["fields"]} == {"mobile", "name"}
    status, bad = call(client, "GET", "/booking/api/slots", "/booking/api/slots?service=gold&date=soon", me)
    assert status == 400 and {f["code"] for f in bad["fields"]} == {"required", "unknown_service", "invalid_date"}
    status, bad = call(client, "POST", "/booking/api/bookings", "/booking/api/bookings",
                       {**me, "X-CSRF-Token": "forged"}, FORM)
    assert (status, bad["code"]) == (403, "csrf_failed")
    status, bad = call(client, "GET", "/booking/api/bookings/{booking_id}", "/booking/api/bookings/nope", me)
    assert (status, bad["code"]) == (404, "not_found")
    status, bad = call(client, "POST", "/booking/staff/bookings/{booking_id}/outcome",
                       "/booking/staff/bookings/nope/outcome", manager(), {"status": "late"})
    assert (status, bad["fields"][0]["code"]) == (400, "invalid_status")
    status, bad = call(client, "GET", "/booking/staff/branches/{branch_id}/bookings",
                       "/booking/staff/branches/NOPE/bookings?date=2026-12-01",
                       staff(CUSTOMER_MANAGER, username="manager-9", branch="NOPE"))
    assert (status, bad["code"]) == (404, "unknown_branch")
    status, bad = call(client, "GET", "/booking/staff/branches/{branch_id}/bookings",
                       "/booking/staff/branches/T01/bookings?date=2026-12-01", manager())
    assert (status, bad["code"]) == (403, "other_branch")


def test_pages_match_the_documented_answers(client):
    me = customer()
    form = {**me, "Content-Type": "application/x-www-form-urlencoded"}
    for url, template in [("/booking", "/booking"), ("/booking/mine", "/booking/mine"),
                          ("/booking/new?branch_id=D01&service=wealth&date=2026-12-01", "/booking/new")]:
        response = client.http.get(url, headers=me)
        assert response.status_code == 200, url
        conforms(SPEC, "GET", template, response)
    missing = client.http.get("/booking/new?branch_id=NOPE", headers=me)
    assert missing.status_code == 404
    conforms(SPEC, "GET", "/booking/new", missing)
    body = "branch_id=D01&service=wealth&slot_start=2026-12-01T01%3A00%3A00Z&name=%E5%BC%A0%E4%B8%89&mobile=138"
    refused = client.http.post("/booking/new", headers=form, body=body.encode())
    assert refused.status_code == 400
    conforms(SPEC, "POST", "/booking/new", refused)
    made = client.http.post("/booking/new", headers=form, body=(body + "12345678").encode())
    assert made.status_code == 302 and made.headers["Location"].endswith("?notice=created")
    conforms(SPEC, "POST", "/booking/new", made)

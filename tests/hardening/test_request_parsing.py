"""The fields of live resources, each sent as every JSON type it is not: the handler's own
checks answer a field-by-field 400 in the house's error shape and nothing is stored (the
class of bug behind a 500 on the withdraw of an application that exists)."""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.booking.conftest import world  # noqa: F401 - booking's test week, reused
from tests.loan_apply.conftest import form as loan_form
from tests.sessions import customer
from tests.staff_tokens import staff

NOT_STRINGS = [7, -1.5, True, ["不需要了"], {"text": "不需要了"}]


@pytest.fixture
def loans(aws, frozen_clock, writes):
    from chalice.test import Client

    from functions.loan_apply.app import app
    from tests.loan_apply.conftest import NOW

    frozen_clock(NOW)
    with Client(app) as client:
        yield client.http


@pytest.fixture
def booking_world(world, writes):  # noqa: F811 - the fixture imported above
    """booking's test week (branch T01) through Chalice's test client."""
    from chalice.test import Client

    from functions.booking.app import app

    with Client(app) as client:
        yield client.http


def _submitted(http, openid: str) -> str:
    made = http.post("/loans/api/applications", headers={**customer(openid), "Idempotency-Key": "key-live-0001"},
                     body=json.dumps(loan_form()))
    assert made.status_code == 201, made.body
    return json.loads(made.body)["application"]["application_id"]


@pytest.mark.parametrize("reason", NOT_STRINGS, ids=lambda v: type(v).__name__)
def test_withdraw_of_a_live_application_refuses_a_reason_that_is_not_text(loans, writes, reason):
    application_id = _submitted(loans, "o_parse_withdraw_01")
    headers = customer("o_parse_withdraw_01")
    mark = len(writes.applied)
    res = loans.post(f"/loans/api/applications/{application_id}/withdraw", headers=headers,
                     body=json.dumps({"reason": reason}))
    assert res.status_code == 400, res.body
    body = json.loads(res.body)
    assert body["code"] == "invalid_input"
    assert [(f["field"], f["code"]) for f in body["fields"]] == [("reason", "invalid_type")]
    assert all("\u4e00" <= ch <= "\u9fff" for ch in body["fields"][0]["message"][:2])
    assert writes.since(mark) == []
    shown = loans.get(f"/loans/api/applications/{application_id}", headers=headers)
    assert json.loads(shown.body)["status"] == "SUBMITTED"


@pytest.mark.parametrize("reason", NOT_STRINGS, ids=lambda v: type(v).__name__)
def test_staff_transition_of_a_live_application_refuses_a_reason_that_is_not_text(loans, writes, reason):
    application_id = _submitted(loans, "o_parse_transition_01")
    mark = len(writes.applied)
    res = loans.post(f"/loans/staff/applications/{application_id}/transition",
                     headers=staff(),
                     body=json.dumps({"to": "rejected", "reason": reason}))
    assert res.status_code == 400, res.body
    assert [(f["field"], f["code"]) for f in json.loads(res.body)["fields"]] == [("reason", "invalid_type")]
    assert writes.since(mark) == []


# Instants that parse but leave datetime's range once turned to UTC (found by `make fuzz`)
OUT_OF_RANGE = ["0001-01-01T00:00:00.0+01:00", "9999-12-31T23:59:00-01:00", "9999-12-31T23:59:00Z"]


@pytest.mark.parametrize("slot", OUT_OF_RANGE)
@pytest.mark.parametrize("path", ["/booking/api/bookings/{}/reschedule", "/booking/b/{}/reschedule"])
def test_reschedule_of_a_live_booking_refuses_an_instant_out_of_range(booking_world, writes, path, slot):
    from tests.hardening import live

    http, openid = booking_world, "o_parse_reschedule_01"
    booking_id = live.booking(openid, branch_id="T01")
    form = path.startswith("/booking/b/")
    headers = customer(openid, form=form)
    body = f"slot_start={quote(slot)}" if form else json.dumps({"slot_start": slot})
    mark = len(writes.applied)
    res = http.post(path.format(booking_id), headers=headers, body=body)
    assert res.status_code == 400, res.body
    if not form:
        assert [(f["field"], f["code"]) for f in json.loads(res.body)["fields"]] == [("slot_start", "invalid_slot")]
    assert writes.since(mark) == []


@pytest.mark.parametrize("slot", OUT_OF_RANGE)
def test_a_booking_at_an_instant_out_of_range_is_refused(booking_world, writes, slot):
    from tests.booking.conftest import form

    res = booking_world.post("/booking/api/bookings", headers=customer("o_parse_create_01"),
                             body=json.dumps(form(slot_start=slot)))
    assert res.status_code == 400, res.body
    assert ("slot_start", "invalid_slot") in [(f["field"], f["code"]) for f in json.loads(res.body)["fields"]]


RAW_READS = {"query_params", "json_body", "raw_body"}
# WeChat's signed XML body: the protocol module verifies and parses it (tests/hardening/test_webhook_corpus.py)
WECHAT_BODY = ("functions/webhook/app.py", "raw_body")


def test_no_route_reads_its_request_raw():
    """Every body and query goes through functions/common/http.py's typed parsing; a raw
    read elsewhere is how a field of the wrong type reached a string method."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found = []
    for path in sorted((root / "functions").rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name == "functions/common/http.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in RAW_READS and (name, node.attr) != WECHAT_BODY:
                found.append(f"{name}:{node.lineno} reads .{node.attr}")
    assert not found, "\n".join(found)

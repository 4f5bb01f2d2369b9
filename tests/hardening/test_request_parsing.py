"""The fields of live resources, each sent as every JSON type it is not: the handler's own
checks answer a field-by-field 400 in the house's error shape and nothing is stored (the
class of bug behind a 500 on the withdraw of an application that exists)."""
from __future__ import annotations

import json

import pytest

from tests.loan_apply.conftest import form as loan_form
from tests.sessions import customer

NOT_STRINGS = [7, -1.5, True, ["不需要了"], {"text": "不需要了"}]


@pytest.fixture
def loans(aws, frozen_clock, writes):
    from chalice.test import Client

    from functions.loan_apply.app import app
    from tests.loan_apply.conftest import NOW

    frozen_clock(NOW)
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
                     headers={"X-Api-Key": "local-staff-key", "Content-Type": "application/json"},
                     body=json.dumps({"to": "rejected", "reason": reason}))
    assert res.status_code == 400, res.body
    assert [(f["field"], f["code"]) for f in json.loads(res.body)["fields"]] == [("reason", "invalid_type")]
    assert writes.since(mark) == []


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

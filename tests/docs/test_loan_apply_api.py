"""loan_apply's routes answer what docs/api/loan_apply.yaml documents."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from chalice.test import Client

from scripts import openapi_check as oc
from tests import sessions
from tests.docs.conformance import conforms
from tests.staff_tokens import LOAN_APPROVER, LOAN_REVIEWER, staff

SPEC = oc.load("loan_apply")


def officer() -> dict[str, str]:
    """A member of staff who reviews and approves (four eyes is loan_apply's own test)."""
    return staff(LOAN_REVIEWER, LOAN_APPROVER)


def resident_id() -> str:
    from stdnum.cn import ric

    body = "33020319900517123"
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture
def client(aws, frozen_clock):
    from functions.loan_apply.app import app

    frozen_clock(datetime(2026, 3, 15, 2, 0, tzinfo=UTC))
    with Client(app) as c:
        yield c


def customer(openid: str = "o_docs_loan", **extra) -> dict[str, str]:
    return {**sessions.customer(openid), **extra}


def form(**overrides) -> dict:
    from functions.loan_apply import catalogue

    return {"product": "consumer_loan", "amount": "50000", "term": "24", "purpose": "renovation", "name": "张三丰",
            "id_number": resident_id(), "phone": "13812345678", "city": "宁波", "monthly_income": "15000",
            "employment_type": "employee", "consent": "true", "consent_version": catalogue.load().consent_version,
            **overrides}


def call(client, method: str, template: str, url: str, headers: dict, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    response = client.http.request(method, url, headers=headers, body=data)
    return response.status_code, conforms(SPEC, method, template, response)


def test_applicant_and_staff_journey_matches_the_documented_answers(client):
    status, catalogue = call(client, "GET", "/loans/api/products", "/loans/api/products", {})
    assert status == 200 and "consumer_loan" in {p["code"] for p in catalogue["products"]}
    me = customer(**{"Idempotency-Key": "docs-key-0001"})
    status, made = call(client, "POST", "/loans/api/applications", "/loans/api/applications", me, form())
    assert (status, made["replayed"]) == (201, False)
    status, again = call(client, "POST", "/loans/api/applications", "/loans/api/applications", me, form())
    assert (status, again["replayed"]) == (200, True)
    app_id = made["application"]["application_id"]

    one = "/loans/api/applications/{application_id}"
    status, detail = call(client, "GET", one, f"/loans/api/applications/{app_id}", customer())
    assert status == 200 and detail["history"][0]["from"] is None
    status, mine = call(client, "GET", "/loans/api/applications", "/loans/api/applications", customer())
    assert [a["application_id"] for a in mine["items"]] == [app_id]

    status, queue = call(client, "GET", "/loans/staff/applications", "/loans/staff/applications?limit=10", officer())
    assert status == 200 and [a["application_id"] for a in queue["items"]] == [app_id]
    status, read = call(client, "GET", "/loans/staff/applications/{application_id}",
                        f"/loans/staff/applications/{app_id}?reason=credit_review", officer())
    assert status == 200 and read["personal"]["name"] == "张三丰"
    move = "/loans/staff/applications/{application_id}/transition"
    status, moved = call(client, "POST", move, f"/loans/staff/applications/{app_id}/transition", officer(),
                         {"to": "UNDER_REVIEW"})
    assert (status, moved["status"]) == (200, "UNDER_REVIEW")
    status, withdrawn = call(client, "POST", one + "/withdraw", f"/loans/api/applications/{app_id}/withdraw",
                             customer(), {"reason": "不需要了"})
    assert (status, withdrawn["status"]) == (200, "WITHDRAWN")
    status, refused = call(client, "POST", move, f"/loans/staff/applications/{app_id}/transition", officer(),
                           {"to": "APPROVED"})
    assert (status, refused["code"]) == (409, "illegal_transition")


def test_refusals_match_the_documented_error_shape(client):
    me = customer(**{"Idempotency-Key": "docs-key-0002"})
    status, bad = call(client, "POST", "/loans/api/applications", "/loans/api/applications", me,
                       form(phone="12345", id_number="330203199005171230", consent="no"))
    assert status == 400
    assert {f["field"]: f["code"] for f in bad["fields"]} == {
        "phone": "phone_invalid", "id_number": "id_number_checksum", "consent": "consent_required"}
    status, bad = call(client, "GET", "/loans/staff/applications", "/loans/staff/applications?status=LOST&limit=0",
                       officer())
    assert status == 400 and {f["code"] for f in bad["fields"]} == {"status_unknown", "limit_invalid"}
    status, bad = call(client, "GET", "/loans/api/applications/{application_id}", "/loans/api/applications/LA1",
                       customer())
    assert (status, bad["code"]) == (404, "not_found")


def test_pages_match_the_documented_answers(client):
    signed = sessions.signed_in("o_docs_loan")
    page = sessions.cookie(signed)
    for url, template in [("/loans/apply?product=credit_card", "/loans/apply"), ("/loans/mine", "/loans/mine")]:
        response = client.http.get(url, headers=page)
        assert response.status_code == 200, url
        conforms(SPEC, "GET", template, response)
    posted = {**page, "Content-Type": "application/x-www-form-urlencoded"}
    from urllib.parse import urlencode

    body = urlencode({**form(phone="1"), "idempotency_key": "docs-key-0003",
                      "csrf_token": signed.csrf_token})
    refused = client.http.post("/loans/apply", headers=posted, body=body.encode())
    assert refused.status_code == 400
    conforms(SPEC, "POST", "/loans/apply", refused)
    missing = client.http.get("/loans/mine/LA1", headers=page)
    assert missing.status_code == 404
    conforms(SPEC, "GET", "/loans/mine/{application_id}", missing)

"""notify's routes answer what docs/api/notify.yaml documents (the SMS code read back from
SNS in moto)."""
from __future__ import annotations

import json
import re

import pytest
from chalice.test import Client

from scripts import openapi_check as oc
from tests import sessions
from tests.docs.conformance import conforms

SPEC = oc.load("notify")
PHONE = "13900001234"


@pytest.fixture
def client(aws):
    from stdnum import luhn

    from functions.notify import corebank
    from functions.notify.app import app

    corebank.add_customer("CDOCS1", "文档客户", PHONE)
    body = "621700000000123"
    corebank.add_card("CDOCS1", body + luhn.calc_check_digit(body))
    with Client(app) as c:
        c.card_number = body + luhn.calc_check_digit(body)
        yield c


def customer(openid: str = "o_docs_notify") -> dict[str, str]:
    return sessions.customer(openid)


def sent_code() -> str:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    texts = [text for phone, text, *_ in sns_backends[DEFAULT_ACCOUNT_ID]["cn-north-1"].sms_messages.values()]
    return re.search(r"验证码(\d{6})", texts[-1]).group(1)


def call(client, method: str, template: str, url: str, body: dict | None = None, headers: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    response = client.http.request(method, url, headers=customer() if headers is None else headers, body=data)
    return response.status_code, conforms(SPEC, method, template, response)


def test_binding_journey_matches_the_documented_answers(client):
    status, sent = call(client, "POST", "/notify/api/otp", "/notify/api/otp",
                        {"card_number": client.card_number, "phone": PHONE})
    assert (status, sent["expires_in"]) == (200, 300)
    status, wrong = call(client, "POST", "/notify/api/bindings", "/notify/api/bindings",
                         {"code": "000000" if sent_code() != "000000" else "111111"})
    assert (status, wrong["code"]) == (400, "otp_wrong")
    status, bound = call(client, "POST", "/notify/api/bindings", "/notify/api/bindings", {"code": sent_code()})
    assert status == 201 and bound["binding"]["last4"] == client.card_number[-4:]
    status, listed = call(client, "GET", "/notify/api/bindings", "/notify/api/bindings")
    assert listed["bindings"] == [bound["binding"]]
    status, bills = call(client, "GET", "/notify/api/bills", "/notify/api/bills")
    assert status == 200 and bills["cards"][0]["statement"] is None
    status, messages = call(client, "GET", "/notify/api/messages", "/notify/api/messages")
    assert status == 200
    one = "/notify/api/bindings/{binding_id}"
    binding_id = bound["binding"]["id"]
    assert call(client, "DELETE", one, f"/notify/api/bindings/{binding_id}") == (200, {"removed": binding_id})
    status, gone = call(client, "DELETE", one, f"/notify/api/bindings/{binding_id}")
    assert (status, gone["code"]) == (404, "not_found")


def test_refusals_match_the_documented_error_shape(client):
    status, bad = call(client, "POST", "/notify/api/otp", "/notify/api/otp", {"card_number": "1234", "phone": "1"})
    assert status == 400 and {f["code"] for f in bad["fields"]} == {"invalid_card", "invalid_phone"}
    status, bad = call(client, "POST", "/notify/api/bindings", "/notify/api/bindings", {"code": "12"})
    assert (status, bad["fields"][0]["code"]) == (400, "invalid_code")
    status, bad = call(client, "POST", "/notify/api/bindings", "/notify/api/bindings", {"code": "123456"})
    assert (status, bad["code"]) == (400, "otp_expired")
    headers = {**customer(), "X-CSRF-Token": "forged"}
    status, bad = call(client, "DELETE", "/notify/api/bindings/{binding_id}", "/notify/api/bindings/x", None, headers)
    assert (status, bad["code"]) == (403, "csrf_failed")


def test_pages_match_the_documented_answers(client):
    for path in ("/notify/bind", "/notify/bills", "/notify/messages"):
        response = client.http.get(path, headers=customer())
        assert response.status_code == 200, path
        conforms(SPEC, "GET", path, response)

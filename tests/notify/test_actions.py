"""Binding a card on the H5 page: card number + mobile on file, SMS one-time code (6 digits,
5 minutes, 5 tries, rate-limited), several cards, unbind; no card number stored anywhere."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from chalice.test import Client

from functions.notify import app as notify_app
from tests.aws_clients import clients
from tests.sessions import cookie, customer, signed_in

T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


@pytest.fixture
def client(aws, frozen_clock):
    frozen_clock(T0)
    with Client(notify_app.app) as c:
        yield c


def headers(openid, csrf=True):
    return customer(openid, csrf=csrf)


def post(client, path, openid, body, csrf=True):
    res = client.http.post(path, headers=headers(openid, csrf), body=json.dumps(body))
    return res.status_code, json.loads(res.body)


def last_code(sms, phone):
    texts = [text for to, text in sms() if to == "+86" + phone]
    return re.search(r"验证码(\d{6})", texts[-1]).group(1)


def bind(client, sms, openid, customer):
    ask = {"card_number": customer.card_number, "phone": customer.phone}
    status, body = post(client, "/notify/api/otp", openid, ask)
    assert status == 200, body
    return post(client, "/notify/api/bindings", openid, {"code": last_code(sms, customer.phone)})


def test_page_needs_a_session(client):
    res = client.http.get("/notify/bind")
    assert res.status_code == 302 and "oauth2/authorize" in res.headers["Location"]


def test_bind_two_cards_then_unbind_one(client, make_customer, sms):
    first, second = make_customer(), make_customer()
    status, body = post(client, "/notify/api/otp", "o_b1", {"card_number": first.card_number,
                                                           "phone": first.phone})
    assert status == 200 and body == {"card": f"····{first.last4}", "phone": f"{first.phone[:3]}****{first.phone[-4:]}",
                                      "expires_in": 300, "resend_in": 60}
    status, body = post(client, "/notify/api/bindings", "o_b1", {"code": last_code(sms, first.phone)})
    assert status == 201 and body["binding"]["card"] == f"····{first.last4}"
    assert bind(client, sms, "o_b1", second)[0] == 201
    listed = json.loads(client.http.get("/notify/api/bindings", headers=headers("o_b1")).body)["bindings"]
    assert sorted(b["last4"] for b in listed) == sorted([first.last4, second.last4])
    signed = signed_in("o_b1")
    page = client.http.get("/notify/bind", headers=cookie(signed)).body.decode()
    assert f"····{first.last4}" in page and signed.csrf_token in page
    assert "单笔¥300.00及以上" in page and "21:00至次日08:00" in page  # what a bound card brings, from the policy
    res = client.http.delete(f"/notify/api/bindings/{listed[0]['id']}", headers=headers("o_b1"))
    assert res.status_code == 200
    assert len(json.loads(client.http.get("/notify/api/bindings", headers=headers("o_b1")).body)["bindings"]) == 1
    res = client.http.delete(f"/notify/api/bindings/{listed[0]['id']}", headers=headers("o_b2"))
    assert res.status_code == 404  # another customer's binding


def test_no_card_number_or_phone_is_stored(client, make_customer, sms, aws):
    customer = make_customer()
    assert bind(client, sms, "o_plain", customer)[0] == 201
    ddb = clients.client("dynamodb")
    for logical in ("NotifyTable", "CoreBankingTable"):
        dump = json.dumps(ddb.scan(TableName=aws[logical]["Ref"])["Items"], ensure_ascii=False)
        assert customer.card_number not in dump and customer.phone not in dump
        assert customer.card_number[:12] not in dump


def test_bad_input_is_reported_field_by_field(client, sms):
    status, body = post(client, "/notify/api/otp", "o_bad", {"card_number": "6222021234567891", "phone": "12345"})
    assert status == 400
    assert {f["field"]: f["code"] for f in body["fields"]} == {"card_number": "invalid_card", "phone": "invalid_phone"}
    assert sms() == []


def test_wrong_mobile_sends_no_code(client, make_customer, sms):
    customer = make_customer()
    status, body = post(client, "/notify/api/otp", "o_wrong", {"card_number": customer.card_number,
                                                              "phone": "13700000000"})
    assert (status, body["code"]) == (400, "card_phone_mismatch") and sms() == []


def test_csrf_is_required(client, make_customer, sms):
    customer = make_customer()
    status, body = post(client, "/notify/api/otp", "o_csrf", {"card_number": customer.card_number,
                                                             "phone": customer.phone}, csrf=False)
    assert (status, body["code"]) == (403, "csrf_failed") and sms() == []


def test_five_tries_then_the_code_is_spent(client, make_customer, sms):
    customer = make_customer()
    post(client, "/notify/api/otp", "o_try", {"card_number": customer.card_number, "phone": customer.phone})
    code = last_code(sms, customer.phone)
    wrong = "000000" if code != "000000" else "111111"
    answers = [post(client, "/notify/api/bindings", "o_try", {"code": wrong})[1]["code"] for _ in range(5)]
    assert answers == ["otp_wrong"] * 4 + ["otp_locked"]
    assert post(client, "/notify/api/bindings", "o_try", {"code": code})[1]["code"] == "otp_expired"


def test_codes_expire_after_five_minutes(client, make_customer, sms, frozen_clock):
    customer = make_customer()
    post(client, "/notify/api/otp", "o_late", {"card_number": customer.card_number, "phone": customer.phone})
    frozen_clock(T0 + timedelta(minutes=5, seconds=1))
    status, body = post(client, "/notify/api/bindings", "o_late", {"code": last_code(sms, customer.phone)})
    assert (status, body["code"]) == (400, "otp_expired")


def test_rate_limits_per_phone_and_per_openid(client, make_customer, sms, frozen_clock):
    customer = make_customer()
    ask = {"card_number": customer.card_number, "phone": customer.phone}
    assert post(client, "/notify/api/otp", "o_rl", ask)[0] == 200
    assert post(client, "/notify/api/otp", "o_rl", ask)[0] == 429  # one a minute per phone
    for minute in range(1, 5):
        frozen_clock(T0 + timedelta(minutes=minute))
        assert post(client, "/notify/api/otp", "o_rl", ask)[0] == 200
    frozen_clock(T0 + timedelta(minutes=6))
    assert post(client, "/notify/api/otp", "o_rl", ask)[0] == 429  # five an hour per phone
    assert len(sms()) == 5
    # per openid: ten a day, whichever numbers it tries
    others = [make_customer() for _ in range(6)]
    codes = [post(client, "/notify/api/otp", "o_rl", {"card_number": c.card_number, "phone": c.phone})[0]
             for c in others]
    assert codes == [200] * 5 + [429]


def test_messages_page_lists_recent_deliveries(client, make_customer, sms, fake_wechat_api, queue):
    from functions.common import events

    customer = make_customer(openids=["o_page"])
    events.publish("card_transaction", {
        "customer_id": customer.customer_id, "card_last4": customer.last4, "amount_fen": 4200, "currency": "CNY",
        "merchant": "天一广场", "cross_border": False, "card_present": True, "txn_time": "2026-03-02T04:00:00Z"},
        "core_banking")
    queue.drain()
    page = client.http.get("/notify/messages", headers=headers("o_page")).body.decode()
    assert "交易提醒" in page and "¥42.00" in page and "天一广场" in page
    listed = json.loads(client.http.get("/notify/api/messages", headers=headers("o_page")).body)["messages"]
    assert listed[0]["status"] == "已发送"

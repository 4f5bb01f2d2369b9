"""The purchase form (/products/p/{code}/buy) through Chalice's test client: who may see it,
its cards from products' projection, every field's refusal (nothing stored, no code spent),
the step-up code (texted by notify: its hash only kept here; expiry, tries, resend and daily
limits, the wrong card, another customer's code) and exactly one order per idempotency key,
also when the request is retried after the code was spent."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from functions.common import otp
from functions.products import actions, store
from tests.conftest import queued
from tests.products.buyers import MONDAY_10AM, OrderDesk, bind, on_sale, ready
from tests.sessions import customer

KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def desk(monkeypatch):
    found = OrderDesk()
    monkeypatch.setattr(actions, "place_order", found.place_order)
    return found


@pytest.fixture
def buyer(world, desk):
    """o1: C3, agreement accepted, a debit card ····1234 (ref d1) and a credit card ····9999
    (ref c1); WM0091 (R2, from ¥1,000.00 by ¥1,000.00) on sale."""
    on_sale()
    ready("o1")
    bind("o1", "d1", "1234", "debit")
    bind("o1", "c1", "9999", "credit")
    return "o1"


def send_code(client, openid: str = "o1", card_ref: str = "d1", product: str = "WM0091"):
    return client.http.post("/products/api/purchase-codes", headers=customer(openid),
                            body=json.dumps({"product": product, "card_ref": card_ref}))


def code_sent(aws) -> str:
    """The code products asked notify to text (the last on the notify queue)."""
    [*_, event] = [e for e in queued(aws) if e["type"] == "stepup_code_requested"]
    return event["data"]["code"]


def buy(client, openid: str = "o1", **fields):
    form = {"card_ref": "d1", "amount": "2000", "disclosure": "true", "idempotency_key": KEY, **fields}
    return client.http.post("/products/p/WM0091/buy", headers=customer(openid, form=True), body=urlencode(form))


def test_the_page_needs_a_session_and_explains_what_stands_before_buying(world, client, desk):
    on_sale(), on_sale(code="WM0400", risk="R4")
    assert client.http.get("/products/p/WM0091/buy").status_code in (302, 401)
    page = client.http.get("/products/p/WM0091/buy", headers=customer("o1")).body.decode()
    assert 'data-readiness="assess"' in page and "/products/assessment" in page and 'id="purchase-form"' not in page
    ready("o1")
    above = client.http.get("/products/p/WM0400/buy", headers=customer("o1")).body.decode()
    assert 'data-readiness="above_level"' in above and "高于您的风险承受能力（C3 平衡型）" in above
    assert 'id="purchase-form"' not in above
    refused = send_code(client, product="WM0400")
    assert refused.status_code == 403 and json.loads(refused.body)["code"] == "not_suitable"


def test_without_a_debit_card_the_form_links_to_binding(world, client, desk):
    on_sale()
    ready("o1")
    page = client.http.get("/products/p/WM0091/buy", headers=customer("o1")).body.decode()
    assert "data-no-cards" in page and 'href="/notify/bind"' in page
    bind("o1", "c1", "9999", "credit")
    page = client.http.get("/products/p/WM0091/buy", headers=customer("o1")).body.decode()
    assert "data-no-debit" in page and re.search(r'value="c1" data-card="9999"\s+disabled', page)


def test_the_form_shows_the_cards_masked_the_disclosure_and_a_fresh_idempotency_key(buyer, client):
    page = client.http.get("/products/p/WM0091/buy", headers=customer("o1")).body.decode()
    assert "····1234 借记卡" in page and "138****5678" in page and "13812345678" not in page
    assert 'href="/products/p/WM0091/documents/risk_disclosure"' in page and 'name="disclosure"' in page
    keys = {re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', client.http.get(
        "/products/p/WM0091/buy", headers=customer("o1")).body.decode()).group(1) for _ in range(2)}
    assert len(keys) == 2


def test_the_code_goes_to_notify_for_the_cards_phone_and_only_its_hash_is_kept(buyer, client, aws):
    sent = send_code(client)
    assert sent.status_code == 201
    assert json.loads(sent.body) == {"card": "····1234", "phone": "138****5678", "expires_in": 300,
                                     "resend_in": 60}
    [event] = [e for e in queued(aws) if e["type"] == "stepup_code_requested"]
    assert set(event["data"]) == {"openid", "card_ref", "code", "purpose", "expires_at"}
    assert event["data"]["card_ref"] == "d1" and event["data"]["purpose"] == "purchase"
    kept = store.stepup("o1")
    assert kept.code_hash == otp.code_hash("o1", event["data"]["code"]) and event["data"]["code"] not in str(
        kept.attribute_values)


def test_a_purchase_with_the_code_places_one_order_and_shows_where_it_went(buyer, client, aws, desk):
    send_code(client)
    done = buy(client, code=code_sent(aws))
    assert done.status_code == 302
    [(openid, code, amount, ref, last4, key)] = desk.calls
    assert (openid, code, amount, ref, last4, key) == ("o1", "WM0091", 200000, "d1", "1234", KEY)
    [order] = desk.orders.values()
    assert done.headers["Location"] == f"/products/orders/{order.order_id}"


def test_a_retried_or_doubled_submit_after_the_code_was_spent_is_the_same_order(buyer, client, aws, desk):
    send_code(client)
    code = code_sent(aws)
    first, again = buy(client, code=code), buy(client, code=code)
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"] and len(desk.orders) == 1
    other = buy(client, code=code, idempotency_key="f" * 32)  # another purchase: the code is spent
    assert other.status_code == 400 and 'data-code="otp_expired"' in other.body.decode()
    assert len(desk.orders) == 1


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"card_ref": ""}, "card_ref", "请选择本人已绑定的借记卡"),
    ({"card_ref": "someone-elses"}, "card_ref", "请选择本人已绑定的借记卡"),
    ({"card_ref": "c1"}, "card_ref", "理财产品须使用借记卡购买"),
    ({"amount": ""}, "amount", "请输入正确的购买金额"),
    ({"amount": "abc"}, "amount", "请输入正确的购买金额"),
    ({"amount": "-100"}, "amount", "请输入正确的购买金额"),
    ({"amount": "0"}, "amount", "请输入正确的购买金额"),
    ({"amount": "1000.001"}, "amount", "请输入正确的购买金额"),
    ({"disclosure": ""}, "disclosure", "请阅读并确认风险揭示书"),
    ({"code": "12345"}, "code", "请输入6位数字验证码"),
    ({"code": "abcdef"}, "code", "请输入6位数字验证码"),
    ({"idempotency_key": "x"}, "idempotency_key", "页面已过期"),
])
def test_every_field_is_refused_by_name_and_nothing_is_spent_or_ordered(buyer, client, aws, desk, fields, field,
                                                                        message):
    send_code(client)
    code = code_sent(aws)
    refused = buy(client, **{"code": code, **fields})
    html = refused.body.decode()
    assert refused.status_code == 400, html
    assert re.search(rf'data-field="{field}">[^<]*{message}', html)
    assert desk.calls == [] and store.stepup("o1").tries == 0 and store.stepup("o1").spent_by is None
    assert buy(client, code=code).status_code == 302  # the code still confirms the corrected form


def test_the_amount_rules_of_place_order_are_shown_by_field_and_the_code_is_released(buyer, client, aws, desk):
    send_code(client)
    code = code_sent(aws)
    below = buy(client, code=code, amount="500")
    assert below.status_code == 400 and re.search(r'data-field="amount">[^<]*起购金额', below.body.decode())
    assert 'value="500"' in below.body.decode() and f'value="{KEY}"' in below.body.decode()  # kept while corrected
    assert desk.orders == {} and store.stepup("o1").spent_by is None
    assert buy(client, code=code, amount="3000").status_code == 302 and len(desk.orders) == 1


def test_a_code_is_for_the_card_it_was_sent_for(buyer, client, aws, desk):
    bind("o1", "d2", "5678", "debit")
    send_code(client, card_ref="d1")
    refused = buy(client, code=code_sent(aws), card_ref="d2")
    assert refused.status_code == 400 and 'data-code="otp_wrong_card"' in refused.body.decode()
    assert desk.calls == []


def test_another_customers_code_and_card_are_useless(buyer, client, aws, desk):
    ready("o2")
    bind("o2", "d9", "4321", "debit")
    send_code(client, openid="o2", card_ref="d9")
    theirs = code_sent(aws)
    assert send_code(client, openid="o2", card_ref="d1").status_code == 400  # o1's card, named by o2
    send_code(client)  # o1's own code, to o1's card
    refused = buy(client, code=theirs)
    assert refused.status_code == 400 and 'data-code="otp_wrong"' in refused.body.decode()
    stolen = buy(client, openid="o2", code=theirs, card_ref="d1")
    assert stolen.status_code == 400 and re.search(r'data-field="card_ref"', stolen.body.decode())
    assert desk.calls == []


def test_codes_expire(buyer, client, aws, desk, frozen_clock):
    send_code(client)
    code = code_sent(aws)
    frozen_clock(MONDAY_10AM + timedelta(seconds=otp.TTL_S))
    refused = buy(client, code=code)
    assert refused.status_code == 400 and 'data-code="otp_expired"' in refused.body.decode() and desk.calls == []


def test_five_wrong_tries_spend_the_code(buyer, client, aws, desk):
    send_code(client)
    code = code_sent(aws)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    answers = [buy(client, code=wrong) for _ in range(otp.TRIES)]
    assert ['data-code="otp_wrong"' in a.body.decode() for a in answers] == [True] * (otp.TRIES - 1) + [False]
    assert 'data-code="otp_locked"' in answers[-1].body.decode()
    assert 'data-code="otp_expired"' in buy(client, code=code).body.decode() and desk.calls == []


def test_one_code_a_minute_and_ten_a_day(buyer, client, aws, frozen_clock):
    assert send_code(client).status_code == 201
    again = send_code(client)
    assert again.status_code == 429 and json.loads(again.body)["code"] == "otp_rate_limited"
    for n in range(1, otp.PER_OPENID_DAY):
        frozen_clock(MONDAY_10AM + timedelta(seconds=n * otp.RESEND_S))
        assert send_code(client).status_code == 201, n
    frozen_clock(MONDAY_10AM + timedelta(seconds=otp.PER_OPENID_DAY * otp.RESEND_S))
    spent = send_code(client)
    assert spent.status_code == 429 and "明天" in json.loads(spent.body)["message"]
    assert len([e for e in queued(aws) if e["type"] == "stepup_code_requested"]) == otp.PER_OPENID_DAY


def test_a_forged_request_without_the_csrf_token_is_refused(buyer, client, aws, desk):
    headers = customer("o1", form=True, csrf=False)
    forged = client.http.post("/products/p/WM0091/buy", headers=headers, body=urlencode(
        {"card_ref": "d1", "amount": "2000", "disclosure": "true", "idempotency_key": KEY, "code": "123456"}))
    assert forged.status_code == 403 and desk.calls == []
    code_request = client.http.post("/products/api/purchase-codes", headers=customer("o1", csrf=False),
                                    body=json.dumps({"product": "WM0091", "card_ref": "d1"}))
    assert code_request.status_code == 403 and queued(aws) == []

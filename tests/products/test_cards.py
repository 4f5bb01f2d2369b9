"""The customer-events channel and products' projection of bound cards: a card bound or
unbound in notify reaches products through the topic (SNS → products' queue → its consumer,
as the local stack runs them), the events carry no number and no clear phone, applying them
is idempotent and order-safe, what breaks the contract goes to the dead-letter queue with its
reason; and the step-up code products asks for is texted by notify to the bound card's phone
(once, only for the openid's own binding, only while valid)."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from chalice.test import Client

from functions.common import clock, events
from functions.notify import app as notify_app
from functions.notify import corebank
from functions.products import actions, store
from tests.aws_clients import clients
from tests.conftest import CONFIG
from tests.products.buyers import MONDAY_10AM, OrderDesk, card_event, on_sale, ready
from tests.sessions import customer

PHONE = "13812345678"
CARD = "6222020000000000000"


class Channel:
    """products' queue of the customer-events topic and the notify queue, each delivered to
    its real handler by the local stack's event source mapping (failed records come back at once)."""

    def __init__(self, refs):
        from infra.local import queues
        from infra.local.lambdas import Lambdas

        self.sqs = clients.client("sqs")
        self.refs = refs
        mappings = {m.function: m for m in queues.mappings_from(CONFIG, refs)}
        lambdas = Lambdas(CONFIG)
        self.products = queues.QueueDelivery(lambdas, [mappings["productsCustomerEvents"]], self.sqs, "cn-north-1", 0)
        self.notify = queues.QueueDelivery(lambdas, [mappings["notifyEvents"]], self.sqs, "cn-north-1", 0)

    def bodies(self, logical: str) -> list[str]:
        url = self.refs[logical]["Ref"]
        got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        return [m["Body"] for m in got]

    def dead_letters(self) -> list[dict]:
        url = self.refs["ProductsCustomerEventsDeadLetterQueue"]["Ref"]
        return self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                        MessageAttributeNames=["All"]).get("Messages", [])


@pytest.fixture
def channel(world):
    return Channel(world)


@pytest.fixture
def notify():
    with Client(notify_app.app) as c:
        yield c


@pytest.fixture
def products():
    from functions.products.app import app

    with Client(app) as c:
        yield c


def texts(to: str = PHONE) -> list[str]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    backend = sns_backends[DEFAULT_ACCOUNT_ID]["cn-north-1"]
    return [text for phone, text, *_ in backend.sms_messages.values() if phone == "+86" + to]


def bind_in_notify(notify, openid: str, card: str = CARD, phone: str = PHONE, kind: str = "debit") -> str:
    """Bind a core-banking card in notify as a customer does (its SMS code); returns its reference."""
    found = corebank.find_card(corebank.card_hash(card)) or corebank.add_card("CUST1", card, "借记卡", kind)
    if corebank.phone_hash_of("CUST1") is None:
        corebank.add_customer("CUST1", "测试客户", phone)
    asked = notify.http.post("/notify/api/otp", headers=customer(openid),
                             body=json.dumps({"card_number": card, "phone": phone}))
    assert asked.status_code == 200, asked.body
    code = re.search(r"验证码(\d{6})", texts(phone)[-1]).group(1)
    bound = notify.http.post("/notify/api/bindings", headers=customer(openid), body=json.dumps({"code": code}))
    assert bound.status_code == 201, bound.body
    return corebank.card_ref(openid, found.card_hash)


def test_a_card_bound_in_notify_reaches_products_projection_through_the_topic(channel, notify):
    ref = bind_in_notify(notify, "o1")
    [body] = channel.bodies("ProductsCustomerEventsQueue")
    event = json.loads(body)  # raw delivery: the event itself
    assert event["type"] == "card_bound" and event["source"] == "notify"
    assert event["data"] == {"openid": "o1", "card_ref": ref, "card_last4": "0000", "card_kind": "debit",
                             "phone_masked": "138****5678", "at": event["data"]["at"]}
    assert PHONE not in body and CARD not in body and corebank.card_hash(CARD) not in body
    assert store.cards_of("o1") == []
    assert channel.products.drain() == 1
    [card] = store.cards_of("o1")
    assert (card.card_ref, card.last4, card.kind, card.phone_masked) == (ref, "0000", "debit", "138****5678")
    assert store.cards_of("o2") == []


def test_a_card_unbound_in_notify_leaves_products_projection(channel, notify):
    bind_in_notify(notify, "o1")
    channel.products.drain()
    listed = json.loads(notify.http.get("/notify/api/bindings", headers=customer("o1")).body)["bindings"]
    removed = notify.http.delete(f"/notify/api/bindings/{listed[0]['id']}", headers=customer("o1"))
    assert removed.status_code == 200
    assert channel.products.drain() == 1 and store.cards_of("o1") == []


def test_the_same_card_bound_by_two_openids_has_a_reference_for_each(channel, notify, frozen_clock):
    first = bind_in_notify(notify, "o1")
    frozen_clock(MONDAY_10AM + timedelta(minutes=1))  # one code a minute per phone
    assert bind_in_notify(notify, "o2") != first


def test_events_apply_once_and_in_any_order(world):
    bound = card_event("card_bound", "o1", "r1", at="2026-11-30T01:00:00Z")
    unbound = card_event("card_unbound", "o1", "r1", at="2026-11-30T01:05:00Z")
    assert actions.apply_card_event(bound) and not actions.apply_card_event(bound)
    assert [c.card_ref for c in store.cards_of("o1")] == ["r1"]
    assert actions.apply_card_event(unbound) and store.cards_of("o1") == []
    # an unbind overtaken by a late copy of the binding before it: the card stays unbound
    late = card_event("card_bound", "o2", "r2", at="2026-11-30T01:00:00Z")
    assert actions.apply_card_event(card_event("card_unbound", "o2", "r2", at="2026-11-30T01:05:00Z"))
    assert not actions.apply_card_event(late) and store.cards_of("o2") == []
    # bound again afterwards: bound
    assert actions.apply_card_event(card_event("card_bound", "o2", "r2", at="2026-11-30T02:00:00Z"))
    assert [c.card_ref for c in store.cards_of("o2")] == ["r2"]


def test_what_breaks_the_contract_is_dead_lettered_with_its_reason(channel):
    sqs, url = channel.sqs, channel.refs["ProductsCustomerEventsQueue"]["Ref"]
    missing = card_event("card_bound", "o1", "r1")
    del missing["data"]["card_kind"]
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(missing))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(card_event("card_bound", "o1", "r2")))
    assert channel.products.drain() == 3
    reasons = {m["MessageAttributes"]["reason"]["StringValue"] for m in channel.dead_letters()}
    assert len(reasons) == 2 and "card_bound: missing card_kind" in reasons
    assert any(r.startswith("not JSON") for r in reasons)
    assert [c.card_ref for c in store.cards_of("o1")] == ["r2"]


def test_an_event_that_fails_for_now_is_logged_with_its_error_and_applied_when_it_comes_back(
        channel, monkeypatch, caplog):
    sqs, url = channel.sqs, channel.refs["ProductsCustomerEventsQueue"]["Ref"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(card_event("card_bound", "o1", "r1")))
    applied = store.apply_card

    def unavailable(*args, **kwargs):
        raise ConnectionError("table unavailable")

    monkeypatch.setattr(store, "apply_card", unavailable)
    mapping = channel.products.mappings[0]
    assert channel.products.deliver_batch(mapping) == 1 and mapping.failed == 1
    assert "Record processing exception" in caplog.text and "table unavailable" in caplog.text
    monkeypatch.setattr(store, "apply_card", applied)
    assert channel.products.drain() == 1  # back at once here (the queue's visibility timeout on AWS)
    assert [c.card_ref for c in store.cards_of("o1")] == ["r1"] and not channel.dead_letters()


def test_the_step_up_code_is_texted_by_notify_to_the_bound_cards_phone_and_confirms_the_purchase(
        channel, notify, products, monkeypatch):
    desk = OrderDesk()
    monkeypatch.setattr(actions, "place_order", desk.place_order)
    on_sale()
    ready("o1")
    ref = bind_in_notify(notify, "o1")
    channel.products.drain()
    sent = products.http.post("/products/api/purchase-codes", headers=customer("o1"),
                              body=json.dumps({"product": "WM0091", "card_ref": ref}))
    assert sent.status_code == 201 and json.loads(sent.body)["phone"] == "138****5678"
    before = len(texts())
    assert channel.notify.drain() == 1
    [text] = texts()[before:]
    assert "确认理财产品购买" in text and "····0000" in text
    code = re.search(r"验证码(\d{6})", text).group(1)
    form = {"card_ref": ref, "amount": "1000", "disclosure": "true", "idempotency_key": "a" * 32, "code": code}
    from urllib.parse import urlencode

    done = products.http.post("/products/p/WM0091/buy", headers=customer("o1", form=True), body=urlencode(form))
    assert done.status_code == 302 and len(desk.orders) == 1


def stepup_event(openid: str, ref: str, expires_in: int = 300) -> dict:
    return events.make("stepup_code_requested", {"openid": openid, "card_ref": ref, "code": "246810",
                                                 "purpose": "purchase", "expires_at": clock.epoch() + expires_in},
                       "products", f"stepup_code_requested:{openid}:{ref}:{expires_in}")


def test_notify_texts_a_code_once_only_for_the_openids_own_valid_binding(channel, notify, caplog):
    ref = bind_in_notify(notify, "o1")
    sqs, url = channel.sqs, channel.refs["NotifyEventsQueue"]["Ref"]
    before = len(texts())
    for event in (stepup_event("o2", ref),  # another openid naming o1's card
                  stepup_event("o1", "not-a-ref"),
                  stepup_event("o1", ref, expires_in=0)):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    channel.notify.drain()
    assert texts()[before:] == []
    once = stepup_event("o1", ref)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(once))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(once))  # a redelivered copy
    channel.notify.drain()
    assert len(texts()[before:]) == 1 and "246810" in texts()[-1]
    assert "step-up code for a card the openid has not bound" in caplog.text  # the log is watched
    assert "246810" not in caplog.text

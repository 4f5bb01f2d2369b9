"""card_transaction policy: a template message for every amount to every active binding;
SMS as well for large, cross-border or card-not-present payments; SMS instead when WeChat
cannot reach anyone."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.common import events
from functions.common.intents import Intent
from functions.notify import replies, store


def txn(customer, amount_fen=1234, *, cross_border=False, card_present=True, merchant="星巴克(天一广场店)",
        event_id=None):
    return events.publish("card_transaction", {
        "customer_id": customer.customer_id, "card_last4": customer.last4, "amount_fen": amount_fen,
        "currency": "CNY", "merchant": merchant, "cross_border": cross_border, "card_present": card_present,
        "txn_time": "2026-03-02T06:30:00Z",
    }, "core_banking", event_id=event_id)


@pytest.fixture
def daytime(frozen_clock):
    frozen_clock(datetime(2026, 3, 2, 6, 31, tzinfo=UTC))  # 14:31 in Ningbo


def templates(fake, openid):
    return [m for m in fake.sent(openid) if m.kind == "template"]


def test_small_payment_is_a_template_message_only(fake_wechat_api, make_customer, queue, sms, daytime):
    customer = make_customer(openids=["o_small"])
    event = txn(customer, 1234)
    queue.drain()
    [message] = templates(fake_wechat_api, "o_small")
    assert message.payload["template_id"] == "local-card_transaction"
    assert {k: v["value"] for k, v in message.payload["data"].items()} == {
        "character_string1": f"····{customer.last4}", "time2": "2026年3月2日 14:30", "thing3": "星巴克(天一广场店)",
        "amount4": "¥12.34", "phrase5": "消费"}
    assert sms() == []
    delivery = store.get_delivery(event["id"], "wx", "o_small")
    assert delivery.status == "sent" and delivery.msgid == message.msgid


def test_large_foreign_or_online_payments_add_an_sms(fake_wechat_api, make_customer, queue, sms, daytime):
    cases = [{"amount_fen": 30000}, {"amount_fen": 100, "cross_border": True},
             {"amount_fen": 100, "card_present": False}]
    customers = [make_customer(openids=[f"o_big{i}"]) for i in range(len(cases))]
    for customer, kwargs in zip(customers, cases):
        txn(customer, **kwargs)
    queue.drain()
    texts = dict(sms())
    for i, customer in enumerate(customers):
        assert len(templates(fake_wechat_api, f"o_big{i}")) == 1
        text = texts["+86" + customer.phone]
        assert f"····{customer.last4}" in text and customer.card_number not in text
    assert len(sms()) == 3


def test_just_under_the_threshold_is_wechat_only(fake_wechat_api, make_customer, queue, sms, daytime):
    customer = make_customer(openids=["o_299"])
    txn(customer, 29999)
    queue.drain()
    assert len(templates(fake_wechat_api, "o_299")) == 1 and sms() == []


def test_threshold_comes_from_config(fake_wechat_api, make_customer, queue, sms, daytime, setting):
    setting("NOTIFY_SMS_MIN_FEN", "1000")
    customer = make_customer(openids=["o_cfg"])
    txn(customer, 1234)
    queue.drain()
    assert len(sms()) == 1


def test_every_bound_openid_hears_of_it(fake_wechat_api, make_customer, queue, daytime):
    customer = make_customer(openids=["o_a", "o_b"])
    txn(customer)
    queue.drain()
    assert len(templates(fake_wechat_api, "o_a")) == 1 and len(templates(fake_wechat_api, "o_b")) == 1


def test_no_binding_means_sms_instead(fake_wechat_api, make_customer, queue, sms, daytime):
    customer = make_customer()
    txn(customer, 500)
    queue.drain()
    assert fake_wechat_api.sent() == []
    [(phone, text)] = sms()
    assert phone == "+86" + customer.phone and "¥5.00" in text


def test_unsubscribed_bindings_go_quiet_and_sms_takes_over(fake_wechat_api, make_customer, queue, sms, daytime):
    customer = make_customer(openids=["o_gone"])
    replies.answer(Intent(kind="unsubscribe", openid="o_gone"))
    assert [b.active for b in store.bindings_of("o_gone")] == [False]
    txn(customer, 500)
    queue.drain()
    assert fake_wechat_api.sent() == [] and len(sms()) == 1


def test_unreachable_on_wechat_means_sms_instead(fake_wechat_api, make_customer, queue, sms, daytime):
    for errcode in (43004, 43101):
        customer = make_customer(openids=[f"o_blocked{errcode}"])
        fake_wechat_api.inject("message/template/send", errcode, count=1)
        event = txn(customer, 500)
        queue.drain()
        assert store.get_delivery(event["id"], "wx", f"o_blocked{errcode}").status == "unreachable"
        assert ("+86" + customer.phone) in dict(sms())
    assert len(sms()) == 2


def test_one_reachable_openid_is_enough(fake_wechat_api, make_customer, queue, sms, daytime):
    customer = make_customer(openids=["o_here", "o_left"])
    fake_wechat_api.unfollow("o_left")
    txn(customer, 500)
    queue.drain()
    assert len(templates(fake_wechat_api, "o_here")) == 1 and sms() == []


def test_card_alerts_ignore_quiet_hours(fake_wechat_api, make_customer, queue, frozen_clock):
    frozen_clock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # 23:00 in Ningbo
    customer = make_customer(openids=["o_night"])
    txn(customer)
    queue.drain()
    assert len(templates(fake_wechat_api, "o_night")) == 1


def test_a_batch_reads_its_cards_bindings_once(fake_wechat_api, make_customer, queue, daytime, monkeypatch):
    customers = [make_customer(openids=[f"o_batch{i}"]) for i in range(5)]
    reads = []
    listening = store.listening
    monkeypatch.setattr(store, "listening", lambda cards: reads.append(sorted(cards)) or listening(cards))
    for customer in customers:
        txn(customer)
    queue.drain()
    assert reads == [sorted((c.customer_id, c.last4) for c in customers)]
    assert all(len(templates(fake_wechat_api, f"o_batch{i}")) == 1 for i in range(5))


def test_unbinding_silences_only_that_binding(fake_wechat_api, make_customer, queue, sms, daytime):
    customer = make_customer(openids=["o_keep", "o_drop"])
    assert store.unbind("o_drop", customer.card_hash)
    assert store.listening([(customer.customer_id, customer.last4)]) == {
        (customer.customer_id, customer.last4): ["o_keep"]}
    txn(customer)
    queue.drain()
    assert len(templates(fake_wechat_api, "o_keep")) == 1 and templates(fake_wechat_api, "o_drop") == []
    assert store.unbind("o_keep", customer.card_hash) and not store.unbind("o_keep", customer.card_hash)
    txn(customer, 500)
    queue.drain()
    assert len(templates(fake_wechat_api, "o_keep")) == 1 and len(sms()) == 1


def test_binding_again_after_unfollowing_brings_the_alerts_back(fake_wechat_api, make_customer, queue, daytime):
    customer = make_customer(openids=["o_back"])
    replies.answer(Intent(kind="unsubscribe", openid="o_back"))
    assert store.listening([(customer.customer_id, customer.last4)])[(customer.customer_id, customer.last4)] == []
    store.bind("o_back", customer.customer_id, customer.card_hash, customer.last4)
    txn(customer)
    queue.drain()
    assert len(templates(fake_wechat_api, "o_back")) == 1

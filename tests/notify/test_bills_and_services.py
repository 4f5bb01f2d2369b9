"""Statements, bill reminders (10:00, 3 days before and on the due day, while unpaid),
quiet hours, booking and loan messages."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.common import clock, events
from functions.notify import app, store


def ningbo(day, hour, minute=0):
    return datetime(2026, 3, day, hour, minute, tzinfo=clock.SHANGHAI).astimezone(UTC)


def statement(customer, statement_id="S202603", due="2026-03-25", amount=123456, minimum=12345):
    return events.publish("statement_issued", {
        "customer_id": customer.customer_id, "card_last4": customer.last4, "statement_id": statement_id,
        "amount_due_fen": amount, "minimum_due_fen": minimum, "due_date": due}, "core_banking")


def payment(customer, amount, statement_id="S202603"):
    return events.publish("payment_received", {
        "customer_id": customer.customer_id, "card_last4": customer.last4, "statement_id": statement_id,
        "amount_fen": amount}, "core_banking")


def titles(fake, openid):
    return [m.payload["template_id"] for m in fake.sent(openid)]


def reminders(fake, openid):
    return [{k: v["value"] for k, v in m.payload["data"].items()} for m in fake.sent(openid)
            if m.payload["template_id"] == "local-bill_reminder"]


def test_statement_is_stored_and_announced_once(fake_wechat_api, make_customer, queue, frozen_clock):
    frozen_clock(ningbo(1, 10))
    customer = make_customer(openids=["o_st"])
    event = statement(customer)
    queue.send_raw(__import__("json").dumps(event))  # delivered twice
    queue.drain()
    assert titles(fake_wechat_api, "o_st") == ["local-statement_issued"]
    [message] = fake_wechat_api.sent("o_st")
    assert message.payload["url"].endswith("/notify/bills")
    assert {k: v["value"] for k, v in message.payload["data"].items()} == {
        "character_string1": f"····{customer.last4}", "amount2": "¥1,234.56", "amount3": "¥123.45",
        "time4": "2026年3月25日"}


@pytest.fixture
def billed(fake_wechat_api, make_customer, queue, frozen_clock):
    frozen_clock(ningbo(1, 10))
    customer = make_customer(openids=["o_bill"])
    statement(customer, due="2026-03-25")
    queue.drain()
    return customer


def test_reminders_three_days_before_and_on_the_due_day(billed, fake_wechat_api, frozen_clock):
    for day in range(20, 27):
        frozen_clock(ningbo(day, 10))
        app.bills({"job": "bill_reminders"}, None)
        app.bills({"job": "bill_reminders"}, None)  # a second firing the same day changes nothing
    got = reminders(fake_wechat_api, "o_bill")
    assert [r["time3"] for r in got] == ["2026年3月25日", "2026年3月25日"]
    assert [r["thing4"] for r in got] == ["3天后到期，请按时还款", "今日为到期还款日"]
    assert got[0]["amount2"] == "¥1,234.56"


def test_partial_payment_lowers_the_reminder_full_payment_stops_it(billed, fake_wechat_api, queue, frozen_clock):
    frozen_clock(ningbo(21, 9))
    payment(billed, 100000)
    queue.drain()
    frozen_clock(ningbo(22, 10))
    app.bills({}, None)
    assert reminders(fake_wechat_api, "o_bill")[-1]["amount2"] == "¥234.56"
    frozen_clock(ningbo(23, 9))
    event = payment(billed, 23456)
    queue.send_raw(__import__("json").dumps(event))  # the same payment twice counts once
    queue.drain()
    frozen_clock(ningbo(25, 10))
    app.bills({}, None)
    assert len(reminders(fake_wechat_api, "o_bill")) == 1
    assert store.latest_statement(billed.customer_id, billed.last4).paid_fen == 123456


def test_unbound_customers_get_reminders_by_sms(fake_wechat_api, make_customer, queue, sms, frozen_clock):
    frozen_clock(ningbo(1, 10))
    customer = make_customer()
    statement(customer, due="2026-03-04")
    queue.drain()
    app.bills({}, None)
    texts = [text for _, text in sms()]
    assert len(texts) == 2 and "还款提醒" in texts[1] and "¥1,234.56" in texts[1]


def test_quiet_hours_hold_non_urgent_messages_until_eight(fake_wechat_api, make_customer, queue, frozen_clock):
    frozen_clock(ningbo(2, 22, 30))
    customer = make_customer(openids=["o_quiet"])
    statement(customer)
    queue.drain()
    assert fake_wechat_api.sent() == [] and queue.waiting() == 0
    [pending] = store.all_pending()
    assert pending.due_at == ningbo(3, 8)
    frozen_clock(ningbo(3, 7, 59))
    app.pending({}, None)
    assert fake_wechat_api.sent() == []
    frozen_clock(ningbo(3, 8, 0))
    app.pending({}, None)
    app.pending({}, None)
    assert titles(fake_wechat_api, "o_quiet") == ["local-statement_issued"] and store.all_pending() == []


BOOKING = {"openid": "o_book", "booking_id": "B1", "branch_name": "鄞州支行", "service": "个人贷款咨询",
           "slot_start": "2026-03-03T01:30:00Z", "manager": "王经理", "url": "/booking/b/B1"}


BOOKING_KINDS = ("booking_confirmed", "booking_cancelled", "booking_rescheduled", "booking_reminder")


def test_booking_events_are_template_messages(fake_wechat_api, queue, frozen_clock):
    frozen_clock(ningbo(2, 10))
    for kind in BOOKING_KINDS:
        events.publish(kind, {**BOOKING, "openid": f"o_{kind}"}, "booking")
    queue.drain()
    for kind in BOOKING_KINDS:
        [message] = fake_wechat_api.sent(f"o_{kind}")
        assert message.payload["template_id"] == f"local-{kind}"
        assert message.payload["data"]["time3"]["value"] == "2026年3月3日 09:30"
        assert message.payload["url"].endswith("/booking/b/B1")


def test_a_template_messages_link_is_on_the_public_base_url_with_its_path(fake_wechat_api, queue, frozen_clock,
                                                                           setting):
    setting("PUBLIC_BASE_URL", "https://wx.example-bank.cn/wx")
    frozen_clock(ningbo(2, 10))
    events.publish("booking_confirmed", {**BOOKING, "openid": "o_linked"}, "booking")
    queue.drain()
    [message] = fake_wechat_api.sent("o_linked")
    assert message.payload["url"] == "https://wx.example-bank.cn/wx/booking/b/B1"


def test_loan_status_is_a_template_message(fake_wechat_api, queue, frozen_clock):
    frozen_clock(ningbo(2, 10))
    events.publish("loan_status_changed", {"openid": "o_loan", "application_id": "A1", "product": "个人消费贷",
                                           "status": "APPROVED", "reason": ""}, "loan_apply")
    queue.drain()
    [message] = fake_wechat_api.sent("o_loan")
    assert message.payload["data"]["phrase3"]["value"] == "已通过"

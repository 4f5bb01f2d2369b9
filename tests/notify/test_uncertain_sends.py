"""A template send that times out after reaching WeChat: settled by WeChat's delivery report,
or sent again once when no report comes within the reconciliation window; -1 is still
retried at once with backoff."""
from __future__ import annotations

from datetime import timedelta

import pytest

from functions.common.intents import Intent
from functions.common.wechat import client as wechat_client
from functions.notify import app, inbox, schedules, service, store
from tests.notify.conftest import sqs_event
from tests.notify.test_exactly_once import NOON, merchants, txn_event

WINDOW = service.Policy().reconcile_after
SLOW = 0.8  # the fake's latency, past the client's time-out below


@pytest.fixture
def slow_wechat(fake_wechat_api, monkeypatch, frozen_clock):
    """The fake WeChat API with a client that gives up after 0.3 s; the clock at noon."""
    frozen_clock(NOON)
    monkeypatch.setattr(wechat_client.get_client(), "timeout", 0.3)
    return fake_wechat_api


def template_sends(fake) -> int:
    return fake.calls.get("cgi-bin/message/template/send", 0)


def push_reports(fake) -> None:
    """WeChat's TEMPLATESENDJOBFINISH reports, through notify's intent as the webhook sends them."""
    assert fake.wait_idle()
    for report in fake.take_reports():
        app.intent(Intent(kind="delivery_report", openid=report["openid"], template_msg_id=report["msgid"],
                          status=report["status"]).to_dict(), None)


def test_a_timed_out_send_settled_by_its_report_is_sent_once(slow_wechat, make_customer, frozen_clock):
    customer = make_customer(openids=["o_to1"])
    event = txn_event(customer, 1)
    slow_wechat.inject("message/template/send", latency=SLOW, count=1)  # late, but delivered
    batch = sqs_event(event)
    assert app.events(batch, None) == {"batchItemFailures": []}  # waits in the pending store
    delivery = store.get_delivery(event["id"], "wx", "o_to1")
    assert delivery.status == "uncertain" and delivery.uncertain_at == NOON
    assert inbox.messages("o_to1")[0]["status"] == "发送中"
    push_reports(slow_wechat)
    assert app.events(batch, None) == {"batchItemFailures": []}  # a redelivered copy sends nothing
    [pending] = store.all_pending()
    assert pending.reason == "uncertain" and pending.due_at == NOON + WINDOW
    frozen_clock(NOON + WINDOW)
    schedules.flush_pending()
    assert merchants(slow_wechat) == ["商户1"] and template_sends(slow_wechat) == 1
    [sent] = slow_wechat.sent("o_to1")
    delivery = store.get_delivery(event["id"], "wx", "o_to1")
    assert (delivery.status, delivery.msgid, delivery.final_status) == ("sent", sent.msgid, "success")
    assert store.all_pending() == [] and inbox.messages("o_to1")[0]["status"] == "已送达"


def test_a_timed_out_send_without_a_report_is_sent_again_once_after_the_window(slow_wechat, make_customer,
                                                                               frozen_clock, sms):
    customer = make_customer(openids=["o_to2"])
    event = txn_event(customer, 2)
    # slow, and in the end not accepted: WeChat never delivers it, so no report comes
    slow_wechat.inject("message/template/send", -1, latency=SLOW, count=1)
    assert app.events(sqs_event(event), None) == {"batchItemFailures": []}
    push_reports(slow_wechat)
    frozen_clock(NOON + WINDOW - timedelta(seconds=1))
    assert schedules.flush_pending()["due"] == 0
    assert app.events(sqs_event(event, receive_count=2), None) == {"batchItemFailures": []}
    assert template_sends(slow_wechat) == 1 and slow_wechat.sent() == []
    frozen_clock(NOON + WINDOW)
    schedules.flush_pending()
    assert merchants(slow_wechat) == ["商户2"] and template_sends(slow_wechat) == 2
    frozen_clock(NOON + 3 * WINDOW)
    schedules.flush_pending()
    assert app.events(sqs_event(event, receive_count=3), None) == {"batchItemFailures": []}
    assert template_sends(slow_wechat) == 2 and store.all_pending() == [] and sms() == []
    assert store.get_delivery(event["id"], "wx", "o_to2").status == "sent"


def test_another_messages_report_does_not_settle_it(slow_wechat, make_customer, frozen_clock):
    customer = make_customer(openids=["o_to3"])
    lost, other = txn_event(customer, 3), txn_event(customer, 4)
    slow_wechat.inject("message/template/send", -1, latency=SLOW, count=1)
    app.events(sqs_event(lost), None)
    assert store.get_delivery(lost["id"], "wx", "o_to3").status == "uncertain"
    app.events(sqs_event(other), None)  # answered in time: its msgid is known
    push_reports(slow_wechat)
    # a report for someone else, and one from before the send
    frozen_clock(NOON - timedelta(seconds=5))
    store.report("99000001", "success", "o_to3")
    frozen_clock(NOON + timedelta(seconds=5))
    store.report("99000002", "success", "o_someone_else")
    frozen_clock(NOON + WINDOW)
    schedules.flush_pending()
    assert sorted(merchants(slow_wechat)) == ["商户3", "商户4"] and template_sends(slow_wechat) == 3


def test_a_resend_that_times_out_too_is_never_sent_a_third_time(slow_wechat, make_customer, frozen_clock, sms):
    customer = make_customer(openids=["o_to4"])
    event = txn_event(customer, 5)
    slow_wechat.inject("message/template/send", -1, latency=SLOW, count=2)
    app.events(sqs_event(event), None)
    frozen_clock(NOON + WINDOW)
    schedules.flush_pending()  # the one resend, which times out as well
    assert template_sends(slow_wechat) == 2
    delivery = store.get_delivery(event["id"], "wx", "o_to4")
    assert delivery.status == "uncertain" and delivery.uncertain_sends == 2
    push_reports(slow_wechat)
    frozen_clock(NOON + 2 * WINDOW)
    schedules.flush_pending()
    assert template_sends(slow_wechat) == 2 and slow_wechat.sent() == []
    assert store.get_delivery(event["id"], "wx", "o_to4").status == "unconfirmed"
    assert [phone[-11:] for phone, _ in sms()] == [customer.phone]  # the SMS fallback tells them
    assert inbox.messages("o_to4")[0]["status"] == "未确认" and store.all_pending() == []


def test_system_busy_is_still_retried_with_backoff_not_held(slow_wechat, make_customer):
    customer = make_customer(openids=["o_to5"])
    event = txn_event(customer, 6)
    slow_wechat.inject("message/template/send", -1, count=3)  # the client's own retries too
    batch = sqs_event(event)
    assert app.events(batch, None)["batchItemFailures"]  # back through the queue's visibility
    delivery = store.get_delivery(event["id"], "wx", "o_to5")
    assert delivery.status == "retry" and delivery.uncertain_at is None
    assert template_sends(slow_wechat) == 3 and store.all_pending() == []
    assert app.events(batch, None) == {"batchItemFailures": []}  # the next try, at once
    assert merchants(slow_wechat) == ["商户6"] and template_sends(slow_wechat) == 4


def test_a_report_pushed_twice_is_kept_once(aws, frozen_clock):
    frozen_clock(NOON)
    assert store.report("99000003", "success", "o_to6") is False
    assert store.report("99000003", "success", "o_to6") is False
    assert [r.msgid for r in store.kept_reports("o_to6", NOON)] == ["99000003"]

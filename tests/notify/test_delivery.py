"""Exactly once per (event, openid): redelivery, duplicate publishes, concurrent consumers,
and WeChat's bad days (-1, 45009, 40001) on the fake API. A template send that times out
after reaching WeChat: settled by WeChat's delivery report, or sent again once when no report
comes within the reconciliation window; -1 is still retried at once with backoff."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from functions.common import events
from functions.common.intents import Intent
from functions.common.wechat import client as wechat_client
from functions.notify import actions, app, consumer, replies, service, store
from tests.notify.conftest import sqs_event

NOON = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 in Ningbo


def txn_event(customer, n, event_id=None):
    return events.make("card_transaction", {
        "customer_id": customer.customer_id, "card_last4": customer.last4, "amount_fen": 100 + n,
        "currency": "CNY", "merchant": f"商户{n}", "cross_border": False, "card_present": True,
        "txn_time": "2026-03-02T04:00:00Z",
    }, "core_banking", event_id=event_id)


def merchants(fake):
    return [m.payload["data"]["thing3"]["value"] for m in fake.sent() if m.kind == "template"]


def test_redelivered_record_sends_once(fake_wechat_api, make_customer, frozen_clock):
    frozen_clock(NOON)
    customer = make_customer(openids=["o_re"])
    batch = sqs_event(txn_event(customer, 1))
    assert app.events(batch, None) == {"batchItemFailures": []}
    assert app.events(batch, None) == {"batchItemFailures": []}
    assert merchants(fake_wechat_api) == ["商户1"]


def test_the_same_event_published_twice_sends_once(fake_wechat_api, make_customer, queue, frozen_clock):
    frozen_clock(NOON)
    customer = make_customer(openids=["o_twice"])
    event = txn_event(customer, 2)
    queue.send_raw(json.dumps(event))
    queue.send_raw(json.dumps(event))
    queue.drain()
    assert merchants(fake_wechat_api) == ["商户2"]


def test_concurrent_consumers_send_once(fake_wechat_api, make_customer, frozen_clock):
    frozen_clock(NOON)
    customers = [make_customer(openids=[f"o_cc{i}", f"o_cc{i}b"]) for i in range(5)]
    batch = sqs_event(*[txn_event(c, i) for i, c in enumerate(customers)])
    fake_wechat_api.inject("message/template/send", latency=0.05)  # widen the race
    results: list[dict] = []
    barrier = threading.Barrier(6)

    def consume():
        barrier.wait()
        results.append(app.events(batch, None))

    threads = [threading.Thread(target=consume) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # a consumer that found another's live claim reported the record failed, to come back
    failed = [f for r in results for f in r["batchItemFailures"]]
    assert len(failed) < 6 * 5
    fake_wechat_api.clear_faults()
    while app.events(batch, None)["batchItemFailures"]:
        pass
    sent = sorted((m.openid, m.payload["data"]["thing3"]["value"]) for m in fake_wechat_api.sent())
    assert sent == sorted((o, f"商户{i}") for i in range(5) for o in (f"o_cc{i}", f"o_cc{i}b"))


def test_transient_failure_retries_through_queue_visibility(fake_wechat_api, make_customer, queue, frozen_clock):
    frozen_clock(NOON)
    customer = make_customer(openids=["o_busy"])
    fake_wechat_api.inject("message/template/send", -1)
    event = events.publish("card_transaction", txn_event(customer, 3)["data"], "core_banking")
    [message] = queue.receive()
    from infra.local.queues import sqs_record

    result = app.events({"Records": [sqs_record(message, "arn", "cn-north-1")]}, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    assert store.get_delivery(event["id"], "wx", "o_busy").status == "retry"
    assert queue.receive() == []  # hidden for the backoff, not the default visibility
    assert queue.waiting() == 1
    fake_wechat_api.clear_faults()
    queue.sqs.change_message_visibility(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"],
                                        VisibilityTimeout=0)
    queue.drain()
    assert merchants(fake_wechat_api) == ["商户3"] and queue.waiting() == 0


def test_a_message_failing_too_often_is_parked_not_dead_lettered(fake_wechat_api, make_customer, frozen_clock):
    frozen_clock(NOON)
    customer = make_customer(openids=["o_long"])
    fake_wechat_api.inject("message/template/send", -1)
    event = txn_event(customer, 4)
    assert app.events(sqs_event(event, receive_count=consumer.PARK_AFTER), None) == {"batchItemFailures": []}
    assert [p.event["id"] for p in store.all_pending()] == [event["id"]]
    fake_wechat_api.clear_faults()
    frozen_clock(NOON + consumer.PARK_FOR + timedelta(seconds=1))
    assert actions.flush_pending()["due"] == 1
    assert merchants(fake_wechat_api) == ["商户4"] and store.all_pending() == []


def test_quota_spent_waits_and_drops_nothing(fake_wechat_api, make_customer, queue, frozen_clock):
    frozen_clock(NOON)
    customer = make_customer(openids=["o_quota"])
    fake_wechat_api.inject("message/template/send", 45009)
    txn_event_ = events.publish("card_transaction", txn_event(customer, 5)["data"], "core_banking")
    queue.drain()
    assert fake_wechat_api.sent() == [] and queue.waiting() == 0
    [pending] = store.all_pending()
    assert pending.reason == "quota" and pending.event["id"] == txn_event_["id"]
    actions.flush_pending()
    assert len(store.all_pending()) == 1  # not due yet
    fake_wechat_api.clear_faults()
    frozen_clock(NOON + timedelta(hours=1))
    actions.flush_pending()
    assert merchants(fake_wechat_api) == ["商户5"] and store.all_pending() == []


def test_a_dead_consumers_claim_is_taken_over_after_its_lease(fake_wechat_api, make_customer, frozen_clock):
    frozen_clock(NOON)
    customer = make_customer(openids=["o_dead"])
    event = txn_event(customer, 6)
    state, _ = store.claim(event["id"], "card_transaction", "wx", "o_dead", "crashed-consumer", 180,
                           "交易提醒", {}, None)
    assert state == "claimed"
    assert app.events(sqs_event(event), None)["batchItemFailures"]  # still held
    assert fake_wechat_api.sent() == []
    frozen_clock(NOON + timedelta(seconds=181))
    assert app.events(sqs_event(event), None) == {"batchItemFailures": []}
    assert merchants(fake_wechat_api) == ["商户6"]


def test_delivery_reports_settle_the_final_status(fake_wechat_api, make_customer, frozen_clock):
    frozen_clock(NOON)
    customer = make_customer(openids=["o_rep"])
    event = txn_event(customer, 7)
    app.events(sqs_event(event), None)
    delivery = store.get_delivery(event["id"], "wx", "o_rep")
    reply = replies.intent(Intent(kind="delivery_report", openid="o_rep", template_msg_id=delivery.msgid,
                              status="failed:user block").to_dict(), None)
    assert reply["type"] == "none"
    assert store.get_delivery(event["id"], "wx", "o_rep").final_status == "failed:user block"


@pytest.mark.slow
def test_fault_injection_delivers_every_event_exactly_once(fake_wechat_api, make_customer, queue, sms, frozen_clock):
    """20 % -1, a few 45009, a 40001: every event reaches every openid exactly once."""
    frozen_clock(NOON)
    customers = [make_customer(openids=[f"o_f{i}"]) for i in range(40)]
    fake_wechat_api.inject("message/template/send", -1, probability=0.2)
    fake_wechat_api.inject("message/template/send", 45009, count=3)
    fake_wechat_api.inject("message/template/send", 40001, count=1)
    for i, c in enumerate(customers):
        events.publish("card_transaction", txn_event(c, i)["data"], "core_banking")
    queue.drain()
    # what waited (quota, long retries) goes out when due
    for minutes in (31, 62, 93):
        frozen_clock(NOON + timedelta(minutes=minutes))
        actions.flush_pending()
        queue.drain()
        if not store.all_pending():
            break
    assert store.all_pending() == [] and queue.waiting() == 0 and queue.dead_letters() == []
    sent = sorted(merchants(fake_wechat_api), key=lambda m: int(m[2:]))
    assert sent == [f"商户{i}" for i in range(40)]
    assert fake_wechat_api.calls["cgi-bin/message/template/send"] > 40  # faults really happened
    assert sms() == []


def test_a_batch_claims_each_delivery_alone_and_settles_them_together(fake_wechat_api, make_customer, frozen_clock,
                                                                     request):
    """Claims are conditional writes, one per delivery; the outcomes go in BatchWriteItems."""
    from functions.common import aws as common_aws

    frozen_clock(NOON)
    customers = [make_customer(openids=[f"o_grp{i}"]) for i in range(5)]
    puts, settled = [], []

    def counted_put(params, **_):
        if params["Item"]["pk"]["S"].startswith("EVT#"):  # deliveries (the access token has its own writes)
            puts.append("ConditionExpression" in params)

    def counted_batch(params, **_):
        settled.extend(r["PutRequest"]["Item"]["sk"]["S"] for rs in params["RequestItems"].values() for r in rs)

    events = common_aws.dynamodb().meta.events
    for name, handler in (("PutItem", counted_put), ("BatchWriteItem", counted_batch)):
        events.register(f"before-parameter-build.dynamodb.{name}", handler)
        request.addfinalizer(lambda name=name, handler=handler: events.unregister(
            f"before-parameter-build.dynamodb.{name}", handler))
    assert app.events(sqs_event(*[txn_event(c, 40 + i) for i, c in enumerate(customers)]), None) == {
        "batchItemFailures": []}
    assert puts == [True] * 5
    assert sorted(settled) == [f"wx#o_grp{i}" for i in range(5)]
    assert sorted(merchants(fake_wechat_api)) == [f"商户{40 + i}" for i in range(5)]


@pytest.mark.parametrize("first_claim", [True, False], ids=["claim", "take-over"])
def test_a_claim_whose_write_landed_before_the_sdk_retried_it_is_ours(aws, monkeypatch, frozen_clock, first_claim):
    """A read timeout makes the SDK send the conditional write again; the retry fails on the
    claim the first one made. That claim is ours, not another consumer's."""
    frozen_clock(NOON)
    claim = ("e_retried", "card_transaction", "wx", "o_retried")
    if not first_claim:  # an earlier attempt failed and left the delivery to retry
        _, earlier = store.claim(*claim, "earlier", 180, "交易提醒", {}, None)
        store.settle(earlier, store.RETRY, error="-1")
    write = store.Delivery.save

    def landed_then_retried(self, *args, **kwargs):
        write(self, *args, **kwargs)
        return write(self, *args, **kwargs)

    monkeypatch.setattr(store.Delivery, "save", landed_then_retried)
    state, item = store.claim(*claim, "mine", 180, "交易提醒", {}, None)
    assert (state, item.token) == (store.CLAIMED, "mine")


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
        replies.intent(Intent(kind="delivery_report", openid=report["openid"], template_msg_id=report["msgid"],
                          status=report["status"]).to_dict(), None)


def test_a_timed_out_send_settled_by_its_report_is_sent_once(slow_wechat, make_customer, frozen_clock):
    customer = make_customer(openids=["o_to1"])
    event = txn_event(customer, 1)
    slow_wechat.inject("message/template/send", latency=SLOW, count=1)  # late, but delivered
    batch = sqs_event(event)
    assert app.events(batch, None) == {"batchItemFailures": []}  # waits in the pending store
    delivery = store.get_delivery(event["id"], "wx", "o_to1")
    assert delivery.status == "uncertain" and delivery.uncertain_at == NOON
    assert actions.messages("o_to1")[0]["status"] == "发送中"
    push_reports(slow_wechat)
    assert app.events(batch, None) == {"batchItemFailures": []}  # a redelivered copy sends nothing
    [pending] = store.all_pending()
    assert pending.reason == "uncertain" and pending.due_at == NOON + WINDOW
    frozen_clock(NOON + WINDOW)
    actions.flush_pending()
    assert merchants(slow_wechat) == ["商户1"] and template_sends(slow_wechat) == 1
    [sent] = slow_wechat.sent("o_to1")
    delivery = store.get_delivery(event["id"], "wx", "o_to1")
    assert (delivery.status, delivery.msgid, delivery.final_status) == ("sent", sent.msgid, "success")
    assert store.all_pending() == [] and actions.messages("o_to1")[0]["status"] == "已送达"


def test_a_timed_out_send_without_a_report_is_sent_again_once_after_the_window(slow_wechat, make_customer,
                                                                               frozen_clock, sms):
    customer = make_customer(openids=["o_to2"])
    event = txn_event(customer, 2)
    # slow, and in the end not accepted: WeChat never delivers it, so no report comes
    slow_wechat.inject("message/template/send", -1, latency=SLOW, count=1)
    assert app.events(sqs_event(event), None) == {"batchItemFailures": []}
    push_reports(slow_wechat)
    frozen_clock(NOON + WINDOW - timedelta(seconds=1))
    assert actions.flush_pending()["due"] == 0
    assert app.events(sqs_event(event, receive_count=2), None) == {"batchItemFailures": []}
    assert template_sends(slow_wechat) == 1 and slow_wechat.sent() == []
    frozen_clock(NOON + WINDOW)
    actions.flush_pending()
    assert merchants(slow_wechat) == ["商户2"] and template_sends(slow_wechat) == 2
    frozen_clock(NOON + 3 * WINDOW)
    actions.flush_pending()
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
    actions.flush_pending()
    assert sorted(merchants(slow_wechat)) == ["商户3", "商户4"] and template_sends(slow_wechat) == 3


def test_a_resend_that_times_out_too_is_never_sent_a_third_time(slow_wechat, make_customer, frozen_clock, sms):
    customer = make_customer(openids=["o_to4"])
    event = txn_event(customer, 5)
    slow_wechat.inject("message/template/send", -1, latency=SLOW, count=2)
    app.events(sqs_event(event), None)
    frozen_clock(NOON + WINDOW)
    actions.flush_pending()  # the one resend, which times out as well
    assert template_sends(slow_wechat) == 2
    delivery = store.get_delivery(event["id"], "wx", "o_to4")
    assert delivery.status == "uncertain" and delivery.uncertain_sends == 2
    push_reports(slow_wechat)
    frozen_clock(NOON + 2 * WINDOW)
    actions.flush_pending()
    assert template_sends(slow_wechat) == 2 and slow_wechat.sent() == []
    assert store.get_delivery(event["id"], "wx", "o_to4").status == "unconfirmed"
    assert [phone[-11:] for phone, _ in sms()] == [customer.phone]  # the SMS fallback tells them
    assert actions.messages("o_to4")[0]["status"] == "未确认" and store.all_pending() == []


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

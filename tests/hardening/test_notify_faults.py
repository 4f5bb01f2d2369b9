"""WeChat API faults that tests/notify does not already drive (it covers -1, 45009, 40001,
43004, redelivery and concurrent consumers one at a time): all of them in one run while
growing batches are redelivered to three concurrent consumers, and latency past the client's
timeout (the timed-out sends were delivered: WeChat's delivery reports settle them, and
nothing is sent twice). Every notification is sent exactly once, falls back to SMS, or is
parked or dead-lettered with its reason."""
from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import timedelta

import pytest

from functions.common.intents import Intent
from functions.common.wechat import client as wechat_client
from functions.notify import actions, app, replies, store
from tests.hardening.conftest import record
from tests.notify.conftest import fake_wechat_api, make_customer, queue, sms, sqs_event  # noqa: F401
from tests.notify.test_delivery import NOON, merchants, txn_event

pytestmark = pytest.mark.slow

ERRORS = {  # one errcode a round: the fake answers a call with the last pending fault's
    1: [(43004, 0, 2)],  # not following: SMS instead
    2: [(-1, 0, 2)],  # system busy
    3: [(45009, 0, 1)],  # quota spent
    4: [(40001, 0, 1)],  # token invalid
}
TIMEOUTS = {1: [("latency", 0.8, 2)], 2: [("latency", 0.8, 1)], 3: [], 4: []}  # past the client's timeout


@pytest.mark.parametrize("rounds", [
    pytest.param(ERRORS, id="errcodes"),
    pytest.param(TIMEOUTS, id="timeouts"),
])
def test_wechat_faults_with_concurrent_redelivery(fake_wechat_api, make_customer, sms, queue, frozen_clock,  # noqa: F811
                                                  monkeypatch, rounds):
    frozen_clock(NOON)
    monkeypatch.setattr(wechat_client.get_client(), "timeout", 0.3)
    customers = [make_customer(openids=[f"o_hf{i}"]) for i in range(12)]
    fake = fake_wechat_api
    # round k brings three more customers' events and one kind of trouble, and redelivers
    # every earlier event too; three consumers take the same batch at once
    bad = json.dumps({"v": 1, "id": "bad-1", "type": "card_transaction", "source": "x", "data": {}})
    all_events = [txn_event(c, i) for i, c in enumerate(customers)]
    for receive, faults in rounds.items():
        for errcode, latency, count in faults:
            fake.inject("message/template/send", None if errcode == "latency" else errcode,
                        latency=latency, count=count)
        batch = sqs_event(*all_events[: 3 * receive], bad, receive_count=receive)
        barrier = threading.Barrier(3)

        def consume(batch=batch):
            barrier.wait()
            app.events(batch, None)

        threads = [threading.Thread(target=consume) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report_deliveries(fake)
    batch = sqs_event(*all_events, bad, receive_count=5)
    for minutes in (31, 62, 93, 124):  # what was parked or waits for quota goes out when due
        frozen_clock(NOON + timedelta(minutes=minutes))
        actions.flush_pending()
        app.events(batch, None)  # and the batch still comes back now and then
        report_deliveries(fake)
    sent = Counter(merchants(fake))
    texted = {phone[-11:] for phone, _ in sms()}
    for i, c in enumerate(customers):
        got = sent[f"商户{i}"]
        assert got <= 1, f"商户{i} sent {got} times"
        assert got == 1 or c.phone in texted, f"商户{i} neither sent nor texted"
    assert texted or rounds is TIMEOUTS, "43004 should have sent someone to SMS"
    if rounds is ERRORS:
        assert fake.calls["cgi-bin/message/template/send"] > len(customers)  # the faults really happened
    assert store.all_pending() == []
    parked = {m["Body"]: m["MessageAttributes"]["reason"]["StringValue"] for m in queue.dead_letters()}
    assert list(parked) == [bad] and "missing" in parked[bad]  # once, with its reason, despite 9 receipts
    if rounds is TIMEOUTS:
        assert sum(sent.values()) == len(customers) and not texted
        deliveries = [store.get_delivery(e["id"], "wx", f"o_hf{i}") for i, e in enumerate(all_events)]
        settled_by_report = [d for d in deliveries if d.uncertain_at is not None]
        assert len(settled_by_report) == 3  # the timed-out sends, counted as delivered from their reports
        assert {d.status for d in deliveries} == {"sent"} and all(d.final_status == "success" for d in deliveries)
        record("notify_timeouts", "Notify: WeChat answering past the client's timeout (the message delivered) + "
               "the batch redelivered to 3 concurrent consumers", len(customers) + 1,
               f"{sum(sent.values())} template messages (none twice; the timed-out ones settled by WeChat's "
               "delivery reports), the malformed event dead-lettered with its reason")
        return
    record("notify_faults", "Notify: WeChat 43004, -1, 45009, 40001 + the batch redelivered to 3 concurrent consumers",
           len(customers) + 1, f"{sum(sent.values())} template messages (none twice), {len(texted)} SMS fallbacks, "
           "the malformed event dead-lettered with its reason")


def report_deliveries(fake) -> None:
    """Push WeChat's TEMPLATESENDJOBFINISH reports to notify, as the webhook does, once the
    fake has answered every send (those held past the client's timeout too)."""
    assert fake.wait_idle()
    for report in fake.take_reports():
        replies.intent(Intent(kind="delivery_report", openid=report["openid"], template_msg_id=report["msgid"],
                          status=report["status"]).to_dict(), None)

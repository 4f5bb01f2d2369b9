"""Malformed and unknown events are parked on the dead-letter queue with their reason at
once (never dropped, never retried); nothing is sent for them."""
from __future__ import annotations

import json
from datetime import UTC

BAD = {
    "not-json": ("{not json", "not JSON"),
    "unknown-type": (json.dumps({"v": 1, "id": "e1", "type": "lottery_won", "source": "x", "data": {}}),
                     "unknown type 'lottery_won'"),
    "missing-fields": (json.dumps({"v": 1, "id": "e2", "type": "card_transaction", "source": "x",
                                   "data": {"customer_id": "C1"}}), "card_transaction: missing card_last4"),
    "wrong-version": (json.dumps({"v": 9, "id": "e3", "type": "card_transaction", "data": {}}),
                      "unsupported version 9"),
    "unusable-data": (json.dumps({"v": 1, "id": "e4", "type": "card_transaction", "source": "x", "data": {
        "customer_id": "C1", "card_last4": "1234", "amount_fen": "lots", "currency": "CNY", "merchant": "m",
        "cross_border": False, "card_present": True, "txn_time": "2026-03-02T04:00:00Z"}}), "unprocessable"),
}


def test_bad_events_are_dead_lettered_with_a_reason(fake_wechat_api, queue):
    for body, _ in BAD.values():
        queue.send_raw(body)
    queue.drain()
    assert queue.waiting() == 0
    parked = {m["Body"]: m["MessageAttributes"]["reason"]["StringValue"] for m in queue.dead_letters()}
    assert set(parked) == {body for body, _ in BAD.values()}
    for body, reason in BAD.values():
        assert reason in parked[body]
    assert fake_wechat_api.sent() == []


def test_good_events_in_the_same_batch_still_go_out(fake_wechat_api, queue, make_customer, frozen_clock):
    from datetime import datetime

    from functions.common import events

    frozen_clock(datetime(2026, 3, 2, 4, 0, tzinfo=UTC))
    customer = make_customer(openids=["o_mixed"])
    queue.send_raw("{not json")
    events.publish("card_transaction", {
        "customer_id": customer.customer_id, "card_last4": customer.last4, "amount_fen": 100, "currency": "CNY",
        "merchant": "m", "cross_border": False, "card_present": True, "txn_time": "2026-03-02T04:00:00Z"},
        "core_banking")
    queue.drain()
    assert len(fake_wechat_api.sent("o_mixed")) == 1 and len(queue.dead_letters()) == 1

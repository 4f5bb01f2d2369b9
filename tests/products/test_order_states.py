"""An order's states: PENDING → CONFIRMED | FAILED | CANCELLED and no other change
(conditional writes), an append-only history, a template message per change through the
notify queue; core banking's answers through products-order-results (a duplicate changes
nothing, an unknown or contradicting one is dead-lettered with its reason); FAILED and
CANCELLED give the quota back in the same transaction; cancelling before the cut-off."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from functions.common import clock
from functions.common.errors import ApiError
from functions.products import actions, store
from tests.conftest import queued
from tests.named_times import NAMED_TIMES
from tests.products.conftest import place


def answer(results, order: store.Order, result: str, **extra) -> None:
    results.send_raw(json.dumps({"order_id": order.order_id, "result": result, "amount_fen": int(order.amount_fen),
                                 **extra}))
    results.drain()


def states(order: store.Order) -> list[str]:
    return [step.state for step in store.order_history(order.order_id)]


def announced(aws) -> list[tuple[str, str]]:
    return [(e["data"]["order_id"], e["data"]["state"]) for e in queued(aws) if e["type"] == "wealth_order_changed"]


def test_confirmed_once_with_its_history_and_a_message_per_change(shop, results):
    order = place()
    answer(results, order, "CONFIRMED")
    answer(results, order, "CONFIRMED")  # a duplicate changes nothing
    found = store.get_order(order.order_id)
    assert found.state == "CONFIRMED" and states(order) == ["PENDING", "CONFIRMED"]
    assert store.sold("WM0091") == 200_000
    assert set(announced(shop)) == {(order.order_id, "PENDING"), (order.order_id, "CONFIRMED")}
    assert results.dead_letters() == []


def test_failed_gives_the_quota_back_with_its_reason(shop, results):
    order = place()
    answer(results, order, "FAILED", reason="余额不足")
    found = store.get_order(order.order_id)
    assert (found.state, found.reason, store.sold("WM0091")) == ("FAILED", "余额不足", 0)
    assert states(order) == ["PENDING", "FAILED"]
    [step] = [s for s in store.order_history(order.order_id) if s.state == "FAILED"]
    assert step.reason == "余额不足"


@pytest.mark.parametrize(("body", "reason"), [
    ("not json", "not JSON"),
    (json.dumps({"order_id": "0" * 20, "result": "CONFIRMED", "amount_fen": 1}), "unknown order"),
    (json.dumps({"order_id": "0" * 20, "result": "CANCELLED", "amount_fen": 1}), "malformed result"),
])
def test_an_unusable_result_is_dead_lettered_with_its_reason(shop, results, body, reason):
    order = place()
    results.send_raw(body)
    results.drain()
    [parked] = results.dead_letters()
    assert parked["MessageAttributes"]["reason"]["StringValue"].startswith(reason)
    assert store.get_order(order.order_id).state == "PENDING" and results.waiting() == 0


def test_a_result_that_fails_for_now_is_logged_with_its_error_and_applied_when_it_comes_back(
        shop, results, monkeypatch, caplog):
    order = place()
    applied = actions.apply_result

    def unavailable(result):
        raise ConnectionError("table unavailable")

    monkeypatch.setattr(actions, "apply_result", unavailable)
    [mapping] = results.delivery.mappings
    results.send_raw(json.dumps({"order_id": order.order_id, "result": "CONFIRMED",
                                 "amount_fen": int(order.amount_fen)}))
    assert results.delivery.deliver_batch(mapping) == 1 and mapping.failed == 1
    assert "Record processing exception" in caplog.text and "table unavailable" in caplog.text
    monkeypatch.setattr(actions, "apply_result", applied)
    results.drain()  # back at once here (the queue's visibility timeout on AWS)
    assert store.get_order(order.order_id).state == "CONFIRMED" and results.dead_letters() == []


def test_out_of_order_a_result_contradicting_the_end_changes_nothing(shop, results):
    order = place()
    answer(results, order, "FAILED", reason="余额不足")
    answer(results, order, "CONFIRMED")
    assert store.get_order(order.order_id).state == "FAILED" and states(order) == ["PENDING", "FAILED"]
    [parked] = results.dead_letters()
    assert parked["MessageAttributes"]["reason"]["StringValue"] == "order is FAILED, result CONFIRMED"
    assert store.sold("WM0091") == 0


def test_a_result_with_another_amount_is_refused(shop, results):
    order = place()
    results.send_raw(json.dumps({"order_id": order.order_id, "result": "CONFIRMED", "amount_fen": 1}))
    results.drain()
    assert store.get_order(order.order_id).state == "PENDING"
    assert results.dead_letters()[0]["MessageAttributes"]["reason"]["StringValue"] == "amount is not the order's"


def test_a_pending_order_cannot_be_written_past_its_end(shop):
    order = place()
    store.change(store.get_order(order.order_id), "CONFIRMED", None, "2026-11-30T02:00:00Z", 10_000)
    with pytest.raises(store.dynamo.Cancelled):
        store.change(order, "CANCELLED", None, "2026-11-30T02:00:01Z")
    assert states(order) == ["PENDING", "CONFIRMED"]


@pytest.mark.parametrize("at", NAMED_TIMES)
def test_cancelling_before_the_trade_days_cut_off(shop, frozen_clock, at):
    placed = clock.parse_setting(at)
    frozen_clock(placed)
    order = place()
    trade_cut_off = clock.parse_setting(f"{order.trade_day}T15:00")
    frozen_clock(trade_cut_off - timedelta(minutes=1))
    done = actions.cancel_order("o1", order.order_id)
    assert done.state == "CANCELLED" and store.sold("WM0091") == 0
    assert states(order) == ["PENDING", "CANCELLED"]


@pytest.mark.parametrize("at", NAMED_TIMES)
def test_no_cancelling_from_the_cut_off(shop, frozen_clock, at):
    frozen_clock(clock.parse_setting(at))
    order = place()
    frozen_clock(clock.parse_setting(f"{order.trade_day}T15:00"))
    with pytest.raises(ApiError) as refused:
        actions.cancel_order("o1", order.order_id)
    assert (refused.value.status, refused.value.code) == (409, "not_cancellable")
    assert store.get_order(order.order_id).state == "PENDING" and store.sold("WM0091") == 200_000


def test_a_confirmed_order_cannot_be_cancelled_and_anothers_is_not_found(shop, results):
    order = place()
    with pytest.raises(ApiError) as other:
        actions.cancel_order("o_other", order.order_id)
    assert other.value.status == 404
    answer(results, order, "CONFIRMED")
    with pytest.raises(ApiError) as late:
        actions.cancel_order("o1", order.order_id)
    assert late.value.code == "not_cancellable"


def test_cancelling_tells_core_banking(shop):
    order = place()
    queued(shop, "ProductsOrdersQueue")
    actions.cancel_order("o1", order.order_id)
    assert queued(shop, "ProductsOrdersQueue") == [{"order_id": order.order_id, "kind": "cancel"}]
    assert (order.order_id, "CANCELLED") in announced(shop)


def test_each_change_reaches_the_customer_as_a_template_message(shop, results, monkeypatch):
    from tests.notify.conftest import Queue
    from tests.webhook import fake_api

    order = place()
    answer(results, order, "FAILED", reason="余额不足")
    with fake_api.running(monkeypatch) as wechat:
        Queue(shop).drain()
        sent = wechat.sent("o1")
    by_state = {m.payload["data"]["phrase4"]["value"]: m.payload["data"] for m in sent}  # a batch goes at once
    assert sorted(by_state) == sorted(["申购受理", "申购失败"]) and len(sent) == 2
    assert by_state["申购失败"]["thing5"]["value"] == "余额不足"
    assert by_state["申购失败"]["amount3"]["value"] == "¥2,000.00"
    assert all(m.payload["url"].endswith(f"/products/orders/{order.order_id}") for m in sent)

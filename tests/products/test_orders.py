"""Placing an order (actions.place_order, what the purchase form calls once the card and the
step-up code are verified): every refusal stores nothing; an accepted order is one
transaction over the quota, the order and its first step; the same idempotency key again is
the same order, sequentially and concurrently; the quota is never oversold."""
from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from functions.common.errors import ApiError
from functions.products import service, store
from tests.conftest import queued
from tests.products.conftest import buyer, load, place, row


def orders_queue(aws) -> list[dict]:
    return queued(aws, "ProductsOrdersQueue")


def refused(call) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


def stored_orders() -> list[store.Order]:
    return list(store.Order.scan(store.Order.sk == store.ORDER))


def test_an_order_is_placed_pending_with_its_trade_day_sent_and_announced(shop):
    order = place()
    assert (order.state, order.kind, order.amount_fen, order.card_last4) == ("PENDING", "purchase", 200_000, "5678")
    assert order.trade_day == "2026-11-30"  # Monday 10:00: today's
    assert "card-ref-1" not in order.sealed_card
    assert store.sold("WM0091") == 200_000
    assert [s.state for s in store.order_history(order.order_id)] == ["PENDING"]
    [sent] = orders_queue(shop)
    assert sent == {"order_id": order.order_id, "idempotency_key": order.order_id, "kind": "purchase",
                    "code": "WM0091", "amount_fen": 200_000, "units_e2": 0, "card_ref": "card-ref-1",
                    "trade_day": "2026-11-30"}
    [event] = queued(shop)
    assert (event["type"], event["data"]["state"], event["data"]["openid"]) == ("wealth_order_changed", "PENDING", "o1")


def test_the_same_key_again_is_the_same_order(shop):
    first = place()
    again = place()
    assert again.order_id == first.order_id and len(stored_orders()) == 1
    assert store.sold("WM0091") == 200_000
    # sent again (core banking de-duplicates on the key); announced under the same event id
    assert [m["order_id"] for m in orders_queue(shop)] == [first.order_id] * 2
    assert len({e["id"] for e in queued(shop)}) == 1
    reused = refused(lambda: place(amount_fen=300_000))
    assert (reused.status, reused.code) == (409, "idempotency_key_reused") and store.sold("WM0091") == 200_000


def nothing_stored(aws) -> bool:
    return stored_orders() == [] and store.sold("WM0091") == 0 and orders_queue(aws) == [] and queued(aws) == []


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"amount_fen": 99_999}, "amount", "below_minimum"),
    ({"amount_fen": 150_000}, "amount", "not_in_increments"),
    ({"amount_fen": 0}, "amount", "invalid_amount"),
    ({"amount_fen": "200000"}, "amount", "invalid_amount"),
    ({"amount_fen": True}, "amount", "invalid_amount"),
    ({"card_ref": ""}, "card", "invalid_card"),
    ({"card_last4": "56a8"}, "card", "invalid_card"),
    ({"key": "short"}, "idempotency_key", "invalid_key"),
    ({"code": "wm-1"}, "code", "invalid_code"),
])
def test_each_field_is_refused_with_its_reason_and_nothing_is_stored(shop, fields, field, code):
    error = refused(lambda: place(**fields))
    assert error.status == 400 and [(f.field, f.code) for f in error.fields] == [(field, code)]
    assert all("\u4e00" <= ch <= "\u9fff" or not ch.isalpha() for ch in error.fields[0].message[:2])
    assert nothing_stored(shop)


def test_the_minimum_and_increments_are_said_in_yuan(shop):
    assert refused(lambda: place(amount_fen=99_999)).fields[0].message == "起购金额为¥1,000.00"
    assert "¥1,000.00的整数倍" in refused(lambda: place(amount_fen=150_000)).fields[0].message


def test_who_may_buy_what(shop, frozen_clock):
    assert refused(lambda: place(openid="o_new")).code == "not_assessed"
    buyer("o_c1", answer="1")
    assert refused(lambda: place(openid="o_c1")).code == "not_suitable"  # R2 > C1
    assert refused(lambda: place(code="WM0500")).code == "not_suitable"  # R5 > C3
    store.publish_agreement("v2", "新版协议")
    error = refused(lambda: place())
    assert (error.status, error.code) == (403, "agreement_required")
    load(row(code="WM0096", window_end="2028-12-31"))
    buyer("o_late")
    frozen_clock(datetime(2027, 12, 1, 2, 0, tzinfo=UTC))  # past the assessment's 12 months
    assert refused(lambda: place(openid="o_late", code="WM0096")).code == "not_assessed"
    assert stored_orders() == []


def test_a_product_off_sale_or_unknown_is_refused(shop):
    load(row(code="WM0092", status="paused"), row(code="WM0093", window_start="2026-12-10"))
    assert (refused(lambda: place(code="WM0092")).code, refused(lambda: place(code="WM0093")).code) == (
        "not_on_sale", "not_on_sale")
    assert refused(lambda: place(code="WM9999")).status == 404
    assert stored_orders() == []


def test_an_order_above_the_quota_left_is_refused(shop):
    load(row(code="WM0094", quota_fen=300_000))
    place(code="WM0094", amount_fen=200_000)
    error = refused(lambda: place(code="WM0094", amount_fen=200_000, key="x" * 32))
    assert (error.status, error.code) == (409, "quota_exhausted")
    assert store.sold("WM0094") == 200_000 and len(stored_orders()) == 1


def test_a_retried_request_racing_itself_places_one_order(shop, atomic_moto):
    results: list = []

    def go():
        results.append(place())

    atomic_moto.gate(8)  # every copy has read "no order yet" before any writes
    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({o.order_id for o in results}) == 1 and len(results) == 8
    assert len(stored_orders()) == 1 and store.sold("WM0091") == 200_000


def test_the_quota_holds_under_contention(shop, atomic_moto):
    load(row(code="WM0095", quota_fen=1_000_000))  # five orders of 2,000 yuan
    atomic_moto.gate(12)
    outcomes: list = []

    def go(n: int):
        try:
            outcomes.append(place(code="WM0095", key=f"{n:032d}").order_id)
        except ApiError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=go, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o for o in outcomes if o == "quota_exhausted") == ["quota_exhausted"] * 7
    assert store.sold("WM0095") == 1_000_000 and len(stored_orders()) == 5


@pytest.mark.parametrize(("at", "trade"), [
    ("2026-11-16T09:00", "2026-11-16"),
    ("2026-11-16T14:59", "2026-11-16"),
    ("2026-11-16T15:00", "2026-11-17"),
    ("2026-11-16T15:30", "2026-11-17"),
    ("2026-11-20T15:30", "2026-11-23"),  # Friday after the cut-off: Monday
    ("2026-11-21T15:30", "2026-11-23"),  # Saturday: Monday
    ("2026-11-22T10:00", "2026-11-23"),  # Sunday: Monday
])
def test_the_trade_day_follows_the_cut_off(at, trade):
    from functions.common import clock

    assert service.trade_day(clock.local(clock.parse_setting(at))).isoformat() == trade

"""No overbooking under any concurrency: many threads through the real code paths against
DynamoDB semantics (one request at a time, transactions all or nothing)."""
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from functions.booking import actions, store
from functions.common.errors import ApiError
from tests.booking.conftest import TUE_0900, UTC, form
from tests.conftest import queued


def run_all(calls):
    """Start every call at once; each result is the value or the ApiError."""
    def attempt(call):
        try:
            return call()
        except ApiError as error:
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(attempt, calls))


@pytest.mark.slow
def test_64_customers_on_a_one_seat_slot_get_one_booking_and_63_clean_refusals(world, atomic_moto):
    atomic_moto.gate(64)
    results = run_all([lambda i=i: actions.create(f"o{i}", form()) for i in range(64)])
    booked = [r for r in results if isinstance(r, store.Booking)]
    refused = [r for r in results if isinstance(r, ApiError)]
    assert len(booked) == 1 and len(refused) == 63
    assert {(r.status, r.code) for r in refused} == {(409, "slot_full")}
    assert store.counter("T01", TUE_0900, "wealth") == 1
    state = store.day_state("T01", TUE_0900.date())
    assert state.busy == {TUE_0900: frozenset({"m1"})}
    bookings = store.on_date(TUE_0900.date(), "T01")
    assert [b.id for b in bookings] == [booked[0].id]
    assert [e["type"] for e in queued(world)] == ["booking_confirmed"]


def test_one_customer_racing_for_four_slots_keeps_three(world, atomic_moto):
    slots = [f"2026-12-0{d}T01:00:00Z" for d in (1, 3, 4, 7)]
    atomic_moto.gate(4)
    results = run_all([lambda s=s: actions.create("o1", form(slot_start=s)) for s in slots])
    assert sum(isinstance(r, store.Booking) for r in results) == 3
    assert [r.code for r in results if isinstance(r, ApiError)] == ["too_many_bookings"]
    assert len(store.ledger("o1").upcoming) == 3
    total = sum(store.counter("T01", datetime.fromisoformat(s.replace("Z", "+00:00")), "wealth") for s in slots)
    assert total == 3


def test_double_submit_racing_is_one_booking(world, atomic_moto):
    atomic_moto.gate(8)
    results = run_all([lambda: actions.create("o1", form(idempotency_key="k")) for _ in range(8)])
    assert all(isinstance(r, store.Booking) for r in results)
    assert len({r.id for r in results}) == 1
    assert store.counter("T01", TUE_0900, "wealth") == 1


def test_two_reschedules_of_one_booking_race_one_wins(world, atomic_moto):
    booking = actions.create("o1", form())
    targets = ["2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z"]
    atomic_moto.gate(2)
    results = run_all([lambda t=t: actions.reschedule("o1", booking.id, t) for t in targets])
    won = [r for r in results if isinstance(r, store.Booking)]
    lost = [r for r in results if isinstance(r, ApiError)]
    assert len(won) == 1 and [e.code for e in lost] == ["booking_changed"]
    final = store.get(booking.id).slot_start
    assert final == won[0].slot_start
    counts = {t: store.counter("T01", datetime.fromisoformat(t.replace("Z", "+00:00")), "wealth") for t in targets}
    assert counts[final] == 1 and sum(counts.values()) == 1
    assert store.counter("T01", TUE_0900, "wealth") == 0
    assert store.ledger("o1").upcoming == {booking.id: final}


def test_reschedule_and_new_bookings_race_for_the_last_seat(world, atomic_moto):
    mine = actions.create("o1", form())
    target = "2026-12-01T02:00:00Z"
    calls = [lambda: actions.reschedule("o1", mine.id, target)]
    calls += [lambda i=i: actions.create(f"n{i}", form(slot_start=target)) for i in range(15)]
    atomic_moto.gate(16)
    results = run_all(calls)
    winners = [r for r in results if isinstance(r, store.Booking)]
    assert len(winners) == 1
    assert {r.code for r in results if isinstance(r, ApiError)} == {"slot_full"}
    at_target = store.counter("T01", datetime(2026, 12, 1, 2, 0, tzinfo=UTC), "wealth")
    assert at_target == 1
    moved = winners[0].id == mine.id
    # the old seat was given back only if the move happened
    assert store.counter("T01", TUE_0900, "wealth") == (0 if moved else 1)
    assert store.get(mine.id).slot_start == (target if moved else "2026-12-01T01:00:00Z")


def test_cancel_and_rebook_race_never_overbooks(world, atomic_moto):
    mine = actions.create("o1", form())
    calls = [lambda: actions.cancel("o1", mine.id)]
    calls += [lambda i=i: actions.create(f"n{i}", form()) for i in range(10)]
    results = run_all(calls)
    assert isinstance(results[0], store.Booking) and results[0].status == "cancelled"
    confirmed = [b for b in store.on_date(TUE_0900.date(), "T01") if b.status == "confirmed"]
    assert len(confirmed) == store.counter("T01", TUE_0900, "wealth") <= 1

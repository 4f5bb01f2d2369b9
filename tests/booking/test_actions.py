"""Booking, cancelling and rescheduling against moto, with branch data from the real
branchLookupQuery: seats, managers, limits, idempotency, sealed personal data, events."""
from datetime import datetime, timedelta

import pytest

from functions.booking import actions, store
from functions.booking.service import DayState
from functions.common import clock, events, pii
from functions.common.errors import ApiError, NotFound, ValidationFailed
from tests.booking.conftest import MANAGER, TUE_0900, TUE_0930, UTC, form
from tests.conftest import queued


def error_of(call, *args):
    with pytest.raises(ApiError) as caught:
        call(*args)
    return caught.value


def test_booking_takes_a_seat_assigns_a_manager_and_seals_personal_data(world):
    booking = actions.create("o1", form())
    assert booking.manager_name == "王芳" and booking.status == "confirmed"
    assert booking.name_masked == "张**" and booking.mobile_masked == "138****5678"
    stored = store.get(booking.id)
    assert "13812345678" not in stored.sealed and "张三" not in stored.sealed
    assert pii.unseal(stored.sealed, {"booking_id": booking.id}) == {
        "name": "张三", "mobile": "13812345678", "note": "想了解理财产品"}
    assert store.counter("T01", TUE_0900, "wealth") == 1
    assert store.day_state("T01", TUE_0900.date()).busy[TUE_0900] == {"m1"}
    assert [b.id for b in actions.upcoming("o1")] == [booking.id]


def test_confirmation_event_follows_the_schema_with_a_deterministic_id(world):
    booking = actions.create("o1", form(idempotency_key="k1"))
    [event] = queued(world)
    events.validate(event)
    assert event["type"] == "booking_confirmed" and event["source"] == "booking"
    assert event["id"] == f"booking_confirmed:{booking.id}"
    assert event["data"]["manager"] == "王芳" and event["data"]["slot_start"] == "2026-12-01T01:00:00Z"
    assert event["data"]["service"] == "理财咨询" and event["data"]["branch_name"] == "测试支行T01"
    assert event["data"]["url"] == f"/booking/b/{booking.id}"  # a path: notify puts it on its base URL
    assert "13812345678" not in str(event) and "张三" not in str(event)


def test_double_submit_of_one_form_is_one_booking(world):
    first = actions.create("o1", form(idempotency_key="same-form"))
    again = actions.create("o1", form(idempotency_key="same-form"))
    assert first.id == again.id
    assert store.counter("T01", TUE_0900, "wealth") == 1
    assert len(store.of_user("o1")) == 1
    assert {e["id"] for e in queued(world)} == {f"booking_confirmed:{first.id}"}
    # the same key from another customer is another booking (here: the slot is full)
    assert error_of(actions.create, "o2", form(idempotency_key="same-form")).code == "slot_full"


def test_full_slot_and_a_customer_booking_a_slot_twice(world):
    actions.create("o1", form())
    full = error_of(actions.create, "o2", form())
    assert full.status == 409 and full.code == "slot_full" and full.fields[0].field == "slot_start"
    # o1 again at the same time, other service: refused, nothing stored
    twice = error_of(actions.create, "o1", form(service="loans"))
    assert twice.code == "already_booked"
    assert store.counter("T01", TUE_0900, "loans") == 0


def test_a_fourth_upcoming_booking_is_refused_and_nothing_is_stored(world):
    for hour in (1, 2, 3):
        actions.create("o1", form(slot_start=f"2026-12-01T0{hour}:00:00Z"))
    fourth = error_of(actions.create, "o1", form(slot_start="2026-12-01T05:30:00Z"))
    assert fourth.code == "too_many_bookings" and fourth.fields[0].field == "bookings"
    assert store.counter("T01", datetime(2026, 12, 1, 5, 30, tzinfo=UTC), "wealth") == 0
    assert len(store.of_user("o1")) == 3
    # once one is cancelled, a new one fits
    actions.cancel("o1", store.of_user("o1")[0].id)
    fits = actions.create("o1", form(slot_start="2026-12-01T05:30:00Z"))
    assert fits.status == "confirmed"
    assert store.counter("T01", datetime(2026, 12, 1, 5, 30, tzinfo=UTC), "wealth") == 1


def test_bookings_in_the_past_no_longer_count(world, frozen_clock):
    for hour in (1, 2, 3):
        actions.create("o1", form(slot_start=f"2026-12-01T0{hour}:00:00Z"))
    assert error_of(actions.create, "o1", form(slot_start="2026-12-03T01:00:00Z")).code == "too_many_bookings"
    frozen_clock(datetime(2026, 12, 1, 3, 5, tzinfo=UTC))  # after the first two
    fourth = actions.create("o1", form(slot_start="2026-12-03T01:00:00Z"))
    assert fourth.status == "confirmed"
    assert sorted(b.slot_start for b in store.of_user("o1")) == [
        "2026-12-01T01:00:00Z", "2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z", "2026-12-03T01:00:00Z"]


BAD_INPUT = [
    ({"slot_start": "2026-11-30T00:30:00Z"}, "slot_start", "slot_past"),
    ({"slot_start": "2026-12-02T01:00:00Z"}, "slot_start", "branch_closed"),
    ({"slot_start": "2026-12-20T01:00:00Z"}, "slot_start", "slot_too_far"),
    ({"slot_start": "2026-12-01T04:00:00Z"}, "slot_start", "slot_not_offered"),
    ({"slot_start": "tomorrow"}, "slot_start", "invalid_slot"),
    ({"branch_id": "NOPE"}, "branch_id", "unknown_branch"),
    ({"branch_id": "T02"}, "branch_id", "unknown_branch"),
    ({"service": "gold"}, "service", "unknown_service"),
    ({"service": "credit_card"}, "service", "service_not_offered"),
    ({"mobile": "1381234567"}, "mobile", "invalid_mobile"),
    ({"name": ""}, "name", "required"),
]


def test_bad_input_names_the_field_and_stores_nothing(world):
    for changes, field, code in BAD_INPUT:
        error = error_of(actions.create, "o1", form(**changes))
        assert (field, code) in {(f.field, f.code) for f in error.fields}, changes
    assert store.of_user("o1") == []
    assert store.ledger("o1").version is None
    assert store.day_state("T01", TUE_0900.date()) == DayState.empty()
    assert queued(world) == []


def test_cancel_frees_the_seat_until_an_hour_before(world, frozen_clock):
    booking = actions.create("o1", form())
    cancelled = actions.cancel("o1", booking.id)
    assert cancelled.status == "cancelled"
    assert store.counter("T01", TUE_0900, "wealth") == 0
    assert store.day_state("T01", TUE_0900.date()).busy == {}
    # idempotent: cancelling again answers the same
    assert actions.cancel("o1", booking.id).status == "cancelled"
    types = [e["type"] for e in queued(world)]
    assert types.count("booking_cancelled") == 2  # same event id twice: notify delivers once
    # the seat can be booked again; too late to cancel within the hour
    other = actions.create("o2", form())
    frozen_clock(TUE_0900 - timedelta(minutes=59))
    assert error_of(actions.cancel, "o2", other.id).code == "too_late"
    assert store.counter("T01", TUE_0900, "wealth") == 1


def test_reschedule_moves_seat_and_manager_in_one_step(world):
    booking = actions.create("o1", form(service="loans"))
    queued(world)
    moved = actions.reschedule("o1", booking.id, "2026-12-01T06:00:00Z")
    assert moved.slot_start == "2026-12-01T06:00:00Z" and moved.manager_name == "李强"
    assert store.counter("T01", TUE_0900, "loans") == 0
    assert store.counter("T01", datetime(2026, 12, 1, 6, 0, tzinfo=UTC), "loans") == 1
    assert [b.slot_start for b in actions.upcoming("o1")] == ["2026-12-01T06:00:00Z"]
    [event] = queued(world)
    assert event["type"] == "booking_rescheduled" and event["data"]["slot_start"] == "2026-12-01T06:00:00Z"
    events.validate(event)


def test_reschedule_into_a_full_slot_keeps_the_old_seat(world):
    mine = actions.create("o1", form())
    actions.create("o2", form(slot_start="2026-12-01T01:30:00Z"))
    full = error_of(actions.reschedule, "o1", mine.id, "2026-12-01T01:30:00Z")
    assert full.code == "slot_full"
    assert store.get(mine.id).slot_start == "2026-12-01T01:00:00Z"
    assert store.counter("T01", TUE_0900, "wealth") == 1 and store.counter("T01", TUE_0930, "wealth") == 1
    assert error_of(actions.reschedule, "o1", mine.id, "2026-12-01T01:00:00Z").code == "same_slot"
    assert error_of(actions.reschedule, "o1", mine.id, "2026-12-02T01:00:00Z").code == "branch_closed"


def test_another_customers_booking_is_not_found(world):
    booking = actions.create("o1", form())
    for call, args in ((actions.owned, ("o2", booking.id)), (actions.cancel, ("o2", booking.id)),
                       (actions.reschedule, ("o2", booking.id, "2026-12-01T02:00:00Z"))):
        with pytest.raises(NotFound):
            call(*args)
    assert store.get(booking.id).status == "confirmed"


def test_staff_mark_outcome_from_the_day_on(world, frozen_clock):
    booking = actions.create("o1", form())
    assert error_of(actions.mark, MANAGER, booking.id, "attended").code == "not_yet"
    frozen_clock(TUE_0900 + timedelta(minutes=10))
    with pytest.raises(ValidationFailed):
        actions.mark(MANAGER, booking.id, "gone")
    assert actions.mark(MANAGER, booking.id, "attended").status == "attended"
    assert error_of(actions.mark, MANAGER, booking.id, "no_show").code == "not_active"
    assert store.ledger("o1").upcoming == {}
    assert [b.status for b in actions.day_list(MANAGER, "T01", "2026-12-01")] == ["attended"]


def test_reminders_go_out_for_tomorrows_bookings_only(world, frozen_clock):
    today = actions.create("o1", form(slot_start="2026-11-30T06:00:00Z"))
    tomorrow = actions.create("o2", form(slot_start="2026-12-01T01:00:00Z"))
    late_tomorrow = actions.create("o3", form(slot_start="2026-12-01T08:30:00Z"))  # 16:30 Ningbo
    cancelled = actions.create("o4", form(slot_start="2026-12-01T02:00:00Z", mobile="13812340004"))
    actions.cancel("o4", cancelled.id)
    later = actions.create("o5", form(slot_start="2026-12-03T01:00:00Z", mobile="13812340005"))
    queued(world)
    frozen_clock(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))  # 18:00 Monday in Ningbo
    assert actions.send_reminders() == 2
    sent = queued(world)
    assert {e["data"]["booking_id"] for e in sent} == {tomorrow.id, late_tomorrow.id}
    assert today.id not in str(sent) and later.id not in str(sent)
    for event in sent:
        events.validate(event)
        assert event["type"] == "booking_reminder"
        assert event["id"] == f"booking_reminder:{event['data']['booking_id']}:{event['data']['slot_start']}"


def test_a_booking_made_after_the_evening_run_for_tomorrow_gets_its_reminder_at_once(world, frozen_clock):
    frozen_clock(datetime(2026, 11, 30, 10, 30, tzinfo=UTC))  # 18:30 Monday in Ningbo, after the 18:00 run
    late = actions.create("o1", form(slot_start="2026-12-01T01:00:00Z"))  # 09:00 Tuesday
    later_day = actions.create("o2", form(slot_start="2026-12-03T01:00:00Z", mobile="13812340002"))
    sent = queued(world)
    assert [(e["type"], e["data"]["booking_id"]) for e in sent] == [
        ("booking_confirmed", late.id), ("booking_reminder", late.id), ("booking_confirmed", later_day.id)]
    # the evening's run, were it to run again, names the same reminder: notify sends it once
    assert actions.send_reminders() == 1
    assert queued(world)[0]["id"] == sent[1]["id"]


def test_a_booking_made_before_the_evening_run_waits_for_it(world, frozen_clock):
    frozen_clock(datetime(2026, 11, 30, 9, 59, tzinfo=UTC))  # 17:59
    actions.create("o1", form(slot_start="2026-12-01T01:00:00Z"))
    assert [e["type"] for e in queued(world)] == ["booking_confirmed"]


def test_the_reminder_hour_is_the_schedules():
    from functions.booking import service
    from tests.conftest import CONFIG

    cron = CONFIG.functions["bookingReminders"].events[0]["schedule"]["rate"]
    minute, hour = cron.removeprefix("cron(").split()[:2]
    assert (int(hour), int(minute)) == (service.REMINDERS_AT.hour, service.REMINDERS_AT.minute)


def test_slots_listing_hides_full_slots_and_explains_closed_days(world):
    got = actions.slots("T01", "wealth", "2026-12-01")
    assert got["slots"][0] == {"start": "2026-12-01T01:00:00Z", "time": "09:00", "available": 1}
    actions.create("o1", form())
    assert "2026-12-01T01:00:00Z" not in [s["start"] for s in actions.slots("T01", "wealth", "2026-12-01")["slots"]]
    closed = error_of(actions.slots, "T01", "wealth", "2026-12-02")
    assert closed.fields[0].field == "date" and closed.fields[0].code == "branch_closed"
    assert error_of(actions.slots, "T01", "wealth", "2026-12-25").fields[0].code == "date_out_of_range"
    assert error_of(actions.slots, "T01", "gold", "2026-12-01").fields[0].field == "service"
    assert clock.now() == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)

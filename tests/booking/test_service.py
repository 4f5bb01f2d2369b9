"""booking's rules on plain branch dicts: slots from hours, lunch breaks, dated exceptions,
the lead time and horizon in Asia/Shanghai, capacity and manager choice, form checks."""
from datetime import UTC, date, datetime, timedelta

import pytest

from functions.booking import service
from functions.booking.service import DayState, Manager
from functions.common import clock
from functions.common.errors import ApiError, ValidationFailed, Validator

UTC = UTC
WEEKDAY = [["09:00", "12:00"], ["13:30", "17:00"]]
BRANCH = {
    "id": "NB001", "name": "鄞州支行", "bookable": True, "services": ["cash", "wealth", "loans"],
    "hours": {"mon": WEEKDAY, "tue": WEEKDAY, "wed": WEEKDAY, "thu": WEEKDAY, "fri": WEEKDAY,
              "sat": [["09:00", "12:00"]], "sun": []},
    "exceptions": [
        {"date": "2026-12-02", "hours": [], "note": "盘点休息"},
        {"date": "2026-12-06", "hours": [["10:00", "11:00"]], "note": "周日特别营业"},
    ],
}
ROSTER = [
    Manager("m1", "王芳", frozenset({"wealth", "loans"})),
    Manager("m2", "李强", frozenset({"wealth"})),
    Manager("m3", "陈静", frozenset({"fx", "account"})),
]
# Monday 2026-11-30, 08:00 in Ningbo (00:00 UTC)
MONDAY_8AM = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


def local_times(starts):
    return [s.astimezone(service.clock.SHANGHAI).strftime("%H:%M") for s in starts]


def test_weekday_slots_skip_the_lunch_break_and_fit_inside_hours():
    starts = service.slot_starts(BRANCH, date(2026, 12, 1), MONDAY_8AM)
    times = local_times(starts)
    assert times[:6] == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert "12:00" not in times and "13:00" not in times
    assert times[6:] == ["13:30", "14:00", "14:30", "15:00", "15:30", "16:00", "16:30"]
    assert all(s.tzinfo is not None and s.utcoffset() == timedelta(0) for s in starts)
    assert starts[0] == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Ningbo is 01:00 UTC


def test_first_slot_today_is_at_least_an_hour_away():
    # 09:10 in Ningbo: 09:30 and 10:00 are too close; 10:30 is the first
    now = datetime(2026, 11, 30, 1, 10, tzinfo=UTC)
    assert local_times(service.slot_starts(BRANCH, date(2026, 11, 30), now))[0] == "10:30"
    # exactly one hour before 10:00 still allows 10:00
    now = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert local_times(service.slot_starts(BRANCH, date(2026, 11, 30), now))[0] == "10:00"


def test_late_evening_utc_is_already_tomorrow_in_ningbo():
    # 23:30 UTC on Sunday is 07:30 Monday in Ningbo: Monday's slots are today's
    now = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    assert service.bookable_dates(now)[0] == date(2026, 11, 30)
    assert local_times(service.slot_starts(BRANCH, date(2026, 11, 30), now))[0] == "09:00"
    assert service.slot_starts(BRANCH, date(2026, 11, 29), now) == []


def test_closed_days_and_dated_exceptions():
    assert service.slot_starts(BRANCH, date(2026, 11, 27), MONDAY_8AM) == []  # a Friday, before today
    sunday = date(2026, 12, 13)
    assert service.slot_starts(BRANCH, sunday, MONDAY_8AM) == []
    assert service.slot_starts(BRANCH, date(2026, 12, 2), MONDAY_8AM) == []  # stocktaking
    assert local_times(service.slot_starts(BRANCH, date(2026, 12, 6), MONDAY_8AM)) == ["10:00", "10:30"]
    assert local_times(service.slot_starts(BRANCH, date(2026, 12, 5), MONDAY_8AM))[-1] == "11:30"


def test_horizon_is_fourteen_days():
    dates = service.bookable_dates(MONDAY_8AM)
    assert dates[0] == date(2026, 11, 30) and dates[-1] == date(2026, 12, 14) and len(dates) == 15
    assert service.slot_starts(BRANCH, date(2026, 12, 14), MONDAY_8AM)
    assert service.slot_starts(BRANCH, date(2026, 12, 15), MONDAY_8AM) == []


def test_a_slot_must_end_by_closing_time():
    branch = {**BRANCH, "exceptions": [{"date": "2026-12-01", "hours": [["09:00", "10:15"]]}]}
    assert local_times(service.slot_starts(branch, date(2026, 12, 1), MONDAY_8AM)) == ["09:00", "09:30"]


def test_check_slot_explains_each_refusal():
    def code(start):
        with pytest.raises(ApiError) as caught:
            service.check_slot(BRANCH, start, MONDAY_8AM)
        assert caught.value.fields[0].field == "slot_start"
        return caught.value.code

    assert code(MONDAY_8AM + timedelta(minutes=30)) == "slot_past"
    assert code(datetime(2026, 12, 20, 1, 0, tzinfo=UTC)) == "slot_too_far"
    assert code(datetime(2026, 12, 2, 1, 0, tzinfo=UTC)) == "branch_closed"
    assert code(datetime(2026, 12, 1, 4, 0, tzinfo=UTC)) == "slot_not_offered"  # 12:00, lunch
    assert code(datetime(2026, 12, 1, 1, 15, tzinfo=UTC)) == "slot_not_offered"  # not on the grid
    service.check_slot(BRANCH, datetime(2026, 12, 1, 1, 0, tzinfo=UTC), MONDAY_8AM)


def test_capacity_is_the_managers_with_the_skill_and_a_manager_serves_one_at_a_time():
    start = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert service.capacity(ROSTER, "wealth") == 2
    assert service.available(ROSTER, "wealth", DayState.empty(), start) == 2
    one_wealth = DayState({(start, "wealth"): 1}, {start: frozenset({"m2"})})
    assert service.available(ROSTER, "wealth", one_wealth, start) == 1
    # m1 busy with a loan: one seat of wealth left (m2), none of loans
    m1_on_loan = DayState({(start, "loans"): 1}, {start: frozenset({"m1"})})
    assert service.available(ROSTER, "wealth", m1_on_loan, start) == 1
    assert service.available(ROSTER, "loans", m1_on_loan, start) == 0


def test_least_loaded_manager_that_day_is_chosen():
    day = [datetime(2026, 12, 1, 1, 0, tzinfo=UTC) + timedelta(minutes=30 * i) for i in range(4)]
    state = DayState({}, {day[0]: frozenset({"m1"}), day[1]: frozenset({"m1"}), day[2]: frozenset({"m2"})})
    assert [m.id for m in service.free_managers(ROSTER, "wealth", state, day[3])] == ["m2", "m1"]
    assert [m.id for m in service.free_managers(ROSTER, "wealth", DayState.empty(), day[3])] == ["m1", "m2"]


def test_open_slots_leave_out_full_ones():
    start = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    state = DayState({(start, "fx"): 1}, {start: frozenset({"m3"})})
    got = service.open_slots(BRANCH, ROSTER, "fx", date(2026, 12, 1), state, MONDAY_8AM)
    assert start not in [s for s, _ in got] and len(got) == 12


def test_offered_services_need_a_manager_and_the_branch_listing():
    # fx has a manager but the branch does not list foreign exchange; account needs no listing
    assert service.offered(BRANCH, ROSTER) == ["wealth", "loans", "account"]
    with pytest.raises(ApiError) as caught:
        service.check_branch_service(BRANCH, ROSTER, "fx")
    assert caught.value.code == "service_not_offered"
    with pytest.raises(ApiError) as caught:
        service.check_branch_service({**BRANCH, "bookable": False}, ROSTER, "wealth")
    assert caught.value.code == "unknown_branch"


def test_three_upcoming_bookings_at_most_past_ones_do_not_count():
    now = MONDAY_8AM
    soon = [service.clock.iso(now + timedelta(days=i)) for i in (1, 2, 3)]
    ledger = {"a": soon[0], "b": soon[1], "c": soon[2]}
    with pytest.raises(ApiError) as caught:
        service.check_can_add(ledger, now + timedelta(days=4), now)
    assert caught.value.code == "too_many_bookings"
    ledger["a"] = service.clock.iso(now - timedelta(hours=1))
    assert set(service.check_can_add(ledger, now + timedelta(days=4), now)) == {"b", "c"}
    with pytest.raises(ApiError) as caught:
        service.check_can_add(ledger, now + timedelta(days=2), now)
    assert caught.value.code == "already_booked"


def test_changes_close_an_hour_before():
    start = MONDAY_8AM + timedelta(hours=2)
    service.check_changeable(start, "confirmed", MONDAY_8AM + timedelta(minutes=60))
    with pytest.raises(ApiError) as caught:
        service.check_changeable(start, "confirmed", MONDAY_8AM + timedelta(minutes=61))
    assert caught.value.code == "too_late"
    with pytest.raises(ApiError) as caught:
        service.check_changeable(start, "cancelled", MONDAY_8AM)
    assert caught.value.code == "not_active"


@pytest.mark.parametrize("raw, expected", [
    ("13812345678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"),
    ("138-1234-5678", "13812345678"),
    ("19912345678", "19912345678"),
    ("1381234567", None),        # ten digits
    ("23812345678", None),       # not a mobile prefix
    ("057487654321", None),      # a Ningbo landline
    ("+85291234567", None),      # Hong Kong
    ("abc", None),
    ("", None),
])
def test_mainland_mobile_numbers(raw, expected):
    assert service.normalise_mobile(raw) == expected


def test_contact_errors_come_field_by_field():
    v = Validator()
    service.check_contact("", "12345", "x" * 201, v)
    with pytest.raises(ValidationFailed) as caught:
        v.check()
    assert {f.field for f in caught.value.fields} == {"name", "mobile", "note"}
    v = Validator()
    assert service.check_contact(" 张三 ", "138 1234 5678", " 想了解理财 ", v) == ("张三", "13812345678", "想了解理财")
    assert not v.errors
    v = Validator()
    service.check_contact("<script>", "13812345678", "", v)
    assert [f.code for f in v.errors] == ["invalid_name"]


def test_the_reminder_comes_the_evening_before_or_at_once_held_through_the_night():
    from datetime import time

    quiet = (time(21, 0), time(8, 0))

    def ningbo(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 11, day, hour, minute, tzinfo=clock.SHANGHAI).astimezone(UTC)

    slot = ningbo(17, 9)
    assert service.reminder_at(slot, ningbo(16, 10), *quiet) == ningbo(16, 18)  # the evening run
    assert service.reminder_at(slot, ningbo(16, 19, 30), *quiet) == ningbo(16, 19, 30)  # after it: at once
    assert service.reminder_at(slot, ningbo(16, 23), *quiet) == ningbo(17, 8)  # at night: held to 08:00
    assert service.reminder_at(slot, ningbo(17, 7), *quiet) is None  # a booking of today


def test_the_branch_picker_lists_the_nearest_first_then_the_others_by_district():
    def b(i, district, distance=None):
        return {"id": i, "district": district, **({"distance_m": distance} if distance is not None else {})}

    located = [b(f"N{i}", "海曙区", 100 * (9 - i)) for i in range(8)] + [b("A1", "江北区", 50)]
    order = [x["id"] for x in service.picker_order(located)]
    assert order[:5] == ["A1", "N7", "N6", "N5", "N4"]
    assert order[5:] == ["N0", "N1", "N2", "N3"]  # the rest by district, then id
    assert all("distance_m" not in x for x in service.picker_order(located)[5:])
    unknown = [b("Z9", "鄞州区"), b("Y1", "海曙区"), b("X5", "鄞州区")]
    assert [x["id"] for x in service.picker_order(unknown)] == ["Y1", "X5", "Z9"]

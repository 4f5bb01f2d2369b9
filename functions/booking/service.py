"""booking's rules: services, slots from a branch's hours, capacity, manager choice, the
limits on a customer's bookings and the checks on the booking form. Plain Python on branch
dicts (functions/common/branches.py schema) and roster rows; no I/O."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from functions.common import clock
from functions.common.errors import ApiError, FieldError, Forbidden, Validator

SERVICES: dict[str, str] = {
    "wealth": "理财咨询",
    "loans": "贷款咨询",
    "account": "开户",
    "credit_card": "信用卡",
    "fx": "外汇",
    "other": "其他业务",
}
# Services a branch also lists among its own (branch_lookup's codes); the others (account
# opening, anything else) every bookable branch with a manager for them takes.
BRANCH_LISTED = frozenset({"wealth", "loans", "fx", "credit_card"})
SLOT = timedelta(minutes=30)
LEAD = timedelta(hours=1)  # the first bookable slot starts at least this far ahead
HORIZON_DAYS = 14  # bookable dates: today .. today + 14 (Asia/Shanghai)
CANCEL_BEFORE = timedelta(hours=1)
REMINDERS_AT = time(18, 0)  # Asia/Shanghai: tomorrow's reminders (the bookingReminders schedule)
MAX_UPCOMING = 3
NEAREST_FIRST = 5  # the branch picker's head: the customer's nearest bookable branches
MAX_UPCOMING_PER_MOBILE = 3  # across openids: many accounts cannot share one number round the limit
NAME_MAX = 20
NOTE_MAX = 200
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NAME = r"^[\u4e00-\u9fa5A-Za-z][\u4e00-\u9fa5A-Za-z·\. ]*$"  # compiled at its first match (about 1 ms)


@dataclass(frozen=True)
class Manager:
    id: str
    name: str
    skills: frozenset[str]


@dataclass(frozen=True)
class DayState:
    """What is taken at one branch on one day: seats per service and slot, and managers busy
    per slot (a manager serves one customer at a time, whatever the service)."""

    counts: dict[tuple[datetime, str], int]
    busy: dict[datetime, frozenset[str]]

    @classmethod
    def empty(cls) -> DayState:
        return cls({}, {})

    def load(self, manager_id: str) -> int:
        return sum(manager_id in ids for ids in self.busy.values())


# ----- errors the customer reads -----------------------------------------------------------

def check_own_branch(staff_branch: str | None, branch_id: str) -> None:
    """A customer manager sees and marks the bookings of their own branch (the branch claim
    of their identity) and no other; without a branch, none."""
    if staff_branch is None or staff_branch != branch_id:
        raise Forbidden("other_branch", "只能查看和登记本网点的预约")


def field_error(status: int, code: str, field: str, message: str) -> ApiError:
    """A refusal that names the field at fault (pages show the message, JSON the field)."""
    return ApiError(status, code, message, [FieldError(field, code, message)])


def slot_full() -> ApiError:
    return field_error(409, "slot_full", "slot_start", "该时段已约满，请选择其他时段")


def too_many() -> ApiError:
    message = f"您最多可同时保留{MAX_UPCOMING}个预约，请先取消不需要的预约"
    return field_error(409, "too_many_bookings", "bookings", message)


def mobile_limit() -> ApiError:
    message = f"该手机号码最多可同时保留{MAX_UPCOMING_PER_MOBILE}个预约，请先取消不需要的预约"
    return field_error(409, "phone_limit", "mobile", message)


def slot_taken_by_user() -> ApiError:
    return field_error(409, "already_booked", "slot_start", "您在该时段已有预约")


# ----- hours and slots ---------------------------------------------------------------------

def hours_on(branch: dict, day: date) -> list[tuple[time, time]]:
    """Opening intervals of a branch on a local date: a dated exception wins over the
    weekday's hours."""
    for exception in branch.get("exceptions") or []:
        if exception.get("date") == day.isoformat():
            spans = exception.get("hours") or []
            break
    else:
        spans = (branch.get("hours") or {}).get(WEEKDAYS[day.weekday()]) or []
    return [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in spans]


def earliest_start(now: datetime) -> datetime:
    return now + LEAD


def bookable_dates(now: datetime) -> list[date]:
    today = clock.local(now).date()
    return [today + timedelta(days=i) for i in range(HORIZON_DAYS + 1)]


def slot_starts(branch: dict, day: date, now: datetime) -> list[datetime]:
    """Every 30-minute slot (UTC start) inside the branch's hours on `day` that is still
    bookable at `now`: at least an hour away and within the horizon."""
    if day not in bookable_dates(now):
        return []
    first = earliest_start(now)
    out = []
    for opens, closes in hours_on(branch, day):
        start = datetime.combine(day, opens, tzinfo=clock.SHANGHAI)
        end = datetime.combine(day, closes, tzinfo=clock.SHANGHAI)
        while start + SLOT <= end:
            if start >= first:
                out.append(start.astimezone(UTC))
            start += SLOT
    return out


def day_status(branch: dict, roster: list[Manager], service: str, day: date, now: datetime,
               state: Callable[[], DayState]) -> str:
    """How a date shows in the picker: `closed` (no hours), `full` (every slot past or taken)
    or `open`. The day's seats (`state`) are read only for a day with slots still ahead."""
    if not hours_on(branch, day):
        return "closed"
    if not slot_starts(branch, day, now):
        return "full"
    return "open" if open_slots(branch, roster, service, day, state(), now) else "full"


def picker_order(branches: list[dict]) -> list[dict]:
    """The branch picker's order: the nearest few first when the branches come with their
    `distance_m` from the customer, then the others grouped by district, by name within one."""
    near = sorted((b for b in branches if "distance_m" in b), key=lambda b: (b["distance_m"], b["id"]))
    near = near[:NEAREST_FIRST]
    first = {b["id"] for b in near}
    rest = [{k: v for k, v in b.items() if k != "distance_m"} for b in branches if b["id"] not in first]
    return near + sorted(rest, key=lambda b: (b.get("district") or "", b.get("name") or "", b["id"]))


def parse_point(lat: str | None, lng: str | None, v: Validator) -> tuple[float, float] | None:
    """A point the page's geolocation gave (both or neither); out of range → field error."""
    if lat is None and lng is None:
        return None
    try:
        point = float(lat or ""), float(lng or "")
    except ValueError:
        point = (float("nan"), float("nan"))
    if not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180):
        v.add("lat", "invalid_location", "无法识别您的位置，请重试")
        return None
    return point


def skilled(roster: Iterable[Manager], service: str) -> list[Manager]:
    return sorted((m for m in roster if service in m.skills), key=lambda m: m.id)


def offered(branch: dict, roster: list[Manager]) -> list[str]:
    """Services a branch takes bookings for: a manager serves it, and the branch lists it
    when it is one branches list."""
    skills = set().union(*(m.skills for m in roster)) if roster else set()
    listed = set(branch.get("services") or [])
    return [code for code in SERVICES if code in skills and (code not in BRANCH_LISTED or code in listed)]


def lists(branch: dict, code: str) -> bool:
    """Whether a branch (its catalogue summary) may offer a service: one branches list must
    be among its own; the roster decides the rest on the next step."""
    return code not in BRANCH_LISTED or code in (branch.get("services") or [])


def free_managers(roster: Iterable[Manager], service: str, state: DayState, start: datetime) -> list[Manager]:
    """Managers who could take this slot, least loaded that day first (then by id)."""
    busy = state.busy.get(start, frozenset())
    free = [m for m in skilled(roster, service) if m.id not in busy]
    return sorted(free, key=lambda m: (state.load(m.id), m.id))


def capacity(roster: Iterable[Manager], service: str) -> int:
    return len(skilled(roster, service))


def available(roster: list[Manager], service: str, state: DayState, start: datetime) -> int:
    """Seats left: bounded by the service's capacity and by managers still free."""
    left = capacity(roster, service) - state.counts.get((start, service), 0)
    return max(0, min(left, len(free_managers(roster, service, state, start))))


def open_slots(branch: dict, roster: list[Manager], service: str, day: date, state: DayState,
               now: datetime) -> list[tuple[datetime, int]]:
    """The slots a customer may pick, with seats left; full ones are left out."""
    out = []
    for start in slot_starts(branch, day, now):
        seats = available(roster, service, state, start)
        if seats > 0:
            out.append((start, seats))
    return out


# ----- checks ------------------------------------------------------------------------------

def parse_date(value: str | None, v: Validator, field: str = "date") -> date | None:
    try:
        return date.fromisoformat(str(value or ""))
    except ValueError:
        v.add(field, "invalid_date", "请选择日期")
        return None


def parse_slot(value: str | None, v: Validator, field: str = "slot_start") -> datetime | None:
    try:
        return clock.parse_utc(str(value or ""))
    except ValueError:
        v.add(field, "invalid_slot", "请选择预约时段")
        return None


def check_service(service: str | None, v: Validator) -> str | None:
    if service not in SERVICES:
        v.add("service", "unknown_service", "请选择业务类型")
        return None
    return service


def check_branch_service(branch: dict | None, roster: list[Manager], service: str) -> None:
    """The branch exists, takes bookings and offers this service."""
    if not branch or not branch.get("bookable") or not roster:
        raise field_error(400, "unknown_branch", "branch_id", "该网点不存在或暂不支持预约")
    if service not in offered(branch, roster):
        raise field_error(400, "service_not_offered", "service", f"该网点暂不提供{SERVICES[service]}预约")


def check_slot(branch: dict, start: datetime, now: datetime) -> None:
    """A slot the branch actually offers and that is still bookable."""
    day = clock.local(start).date()
    if start < earliest_start(now):
        raise field_error(400, "slot_past", "slot_start", "该时段已过或距现在不足1小时，请选择其他时段")
    if day not in bookable_dates(now):
        raise field_error(400, "slot_too_far", "slot_start", f"只能预约{HORIZON_DAYS}天内的时段")
    if not hours_on(branch, day):
        raise field_error(400, "branch_closed", "slot_start", "该网点当天不营业，请选择其他日期")
    if start not in slot_starts(branch, day, now):
        raise field_error(400, "slot_not_offered", "slot_start", "该时段不在营业时间内，请重新选择")


def upcoming(ledger: dict[str, str], now: datetime) -> dict[str, str]:
    """A customer's ledger ({booking id: slot start}) without what is already past."""
    return {bid: start for bid, start in ledger.items() if clock.parse_utc(start) > now}


def check_can_add(ledger: dict[str, str], start: datetime, now: datetime) -> dict[str, str]:
    """The pruned ledger, if the customer may hold one more booking at `start`."""
    live = upcoming(ledger, now)
    if clock.iso(start) in live.values():
        raise slot_taken_by_user()
    if len(live) >= MAX_UPCOMING:
        raise too_many()
    return live


def check_mobile_can_add(ledger: dict[str, str], now: datetime) -> dict[str, str]:
    """The mobile number's pruned ledger, if it may hold one more booking."""
    live = upcoming(ledger, now)
    if len(live) >= MAX_UPCOMING_PER_MOBILE:
        raise mobile_limit()
    return live


def check_changeable(slot_start: datetime, status: str, now: datetime) -> None:
    """Cancel and reschedule are open until an hour before the booked slot."""
    if status != "confirmed":
        raise field_error(409, "not_active", "booking", "该预约已取消或已办理，无法修改")
    if slot_start - now < CANCEL_BEFORE:
        raise field_error(409, "too_late", "booking", "距预约时间不足1小时，无法在线修改，请致电网点")


def check_contact(name: str | None, mobile: str | None, note: str | None, v: Validator) -> tuple[str, str, str]:
    """Name, mainland mobile number (normalised to 11 digits) and note; problems go to `v`."""
    name = (name or "").strip()
    note = (note or "").strip()
    if not name:
        v.add("name", "required", "请填写姓名")
    elif len(name) > NAME_MAX or not re.match(_NAME, name):
        v.add("name", "invalid_name", "请填写真实姓名（中文或英文）")
    number = normalise_mobile(mobile)
    if not number:
        v.add("mobile", "invalid_mobile", "请填写正确的11位手机号码")
    if len(note) > NOTE_MAX:
        v.add("note", "too_long", f"备注不超过{NOTE_MAX}字")
    return name, number or "", note


def normalise_mobile(value: str | None) -> str | None:
    """A valid mainland China mobile number as 11 digits, or None."""
    import phonenumbers

    raw = (value or "").strip()
    if not raw or len(raw) > 20:
        return None
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        return None
    if parsed.country_code != 86 or not phonenumbers.is_valid_number(parsed):
        return None
    if phonenumbers.number_type(parsed) not in (phonenumbers.PhoneNumberType.MOBILE,
                                                 phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return None
    return str(parsed.national_number)


def missed_reminder_run(start: datetime, now: datetime) -> bool:
    """Whether a booking confirmed (or moved) at `now` for `start` came after the evening run
    that reminds of its day: made after 18:00 for tomorrow. Its reminder goes now, and
    notify holds it through quiet hours to the morning."""
    local_now = clock.local(now)
    return clock.local(start).date() == local_now.date() + timedelta(days=1) and local_now.time() >= REMINDERS_AT


def reminder_at(start: datetime, now: datetime, quiet_start: time, quiet_end: time) -> datetime | None:
    """When the reminder of a booking confirmed at `now` reaches the customer: the evening
    run before its day, or at once when that has passed, held to the end of quiet hours;
    None for a booking of today (no reminder)."""
    day = clock.local(start).date()
    if day <= clock.local(now).date():
        return None
    run = datetime.combine(day - timedelta(days=1), REMINDERS_AT, tzinfo=clock.SHANGHAI).astimezone(UTC)
    sent = max(run, now)
    return clock.quiet_until(sent, quiet_start, quiet_end) or sent

"""What a customer or a member of staff can do with bookings: the rules of service.py applied
to branch data (functions/common/branches.py), booking's table (store.py), sealed personal
data and events on the notify queue. Raises ApiError for anything refused."""
from __future__ import annotations

import hashlib
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from functions.booking import roster, service
from functions.booking.service import Manager
from functions.common import branches, clock, events, pii
from functions.common.errors import ApiError, Conflict, FieldError, NotFound, ValidationFailed, Validator
from functions.common.log import get_logger
from functions.common.once import ModuleOnFirstUse
from functions.common.staff import CUSTOMER_MANAGER, Staff

if TYPE_CHECKING:
    from functions.booking import store
    from functions.common import audit, dynamo
else:  # the tables (and PynamoDB) load with the first answer that reads one: the picker reads none
    audit = ModuleOnFirstUse("functions.common.audit")
    dynamo = ModuleOnFirstUse("functions.common.dynamo")
    store = ModuleOnFirstUse("functions.booking.store")

SOURCE = "booking"
ATTEMPTS = 8  # a lost race re-reads the slot and tries again, a few times
STATUS_NAMES = {"confirmed": "已预约", "cancelled": "已取消", "attended": "已到店", "no_show": "未到店"}
logger = get_logger()


def busy() -> ApiError:
    return Conflict("busy", "当前预约人数较多，请稍后再试")


def _pause(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.005 * (2**attempt)))  # noqa: S311 - jitter, not security


# ----- branches ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Place:
    branch: dict
    roster: list[Manager]

    @property
    def services(self) -> list[str]:
        return service.offered(self.branch, self.roster)


def place(branch_id: str, service_code: str | None = None) -> Place:
    """A bookable branch with its managers; unknown or unbookable → field error."""
    found = branches.get([branch_id]) if branch_id else []
    branch = found[0] if found else None
    roster = store.roster(branch_id) if branch else []
    if service_code is None:
        if not branch or not branch.get("bookable") or not roster:
            raise service.field_error(404, "unknown_branch", "branch_id", "该网点不存在或暂不支持预约")
    else:
        service.check_branch_service(branch, roster, service_code)
    return Place(branch or {}, roster)


def bookable_branches(openid: str | None, point: tuple[float, float] | None = None) -> list[dict]:
    """Branches with managers to book (their summaries): the nearest first (with their
    `distance_m`) to the page's geolocation (`point`, WGS-84 as browsers give it) or else to
    the customer's last reported location, then the others by district. Branch lookup's
    bookable branches and the roster are read at once: the picker is a first page."""
    where: dict[str, Any] = {"lat": point[0], "lng": point[1], "datum": "wgs84"} if point else {"openid": openid}
    with ThreadPoolExecutor(max_workers=1) as meanwhile:
        listed = meanwhile.submit(branches.summaries, [], bookable=True, **where)
        staffed = set(roster.branch_ids())
        found = listed.result()
    return service.picker_order([b for b in found if b["id"] in staffed])


def days(spot: Place, service_code: str) -> list[tuple[date, str]]:
    """Each bookable date of a place with how it shows in the picker (service.day_status)."""
    now, branch_id = clock.now(), spot.branch["id"]
    return [(day, service.day_status(spot.branch, spot.roster, service_code, day, now,
                                     partial(store.day_state, branch_id, day)))
            for day in service.bookable_dates(now)]


def slots(branch_id: str, service_code: str | None, day_text: str | None) -> dict[str, Any]:
    """Open slots of a service at a branch on a date, with seats left."""
    v = Validator()
    code = service.check_service(service_code, v)
    day = service.parse_date(day_text, v)
    if not branch_id:
        v.add("branch_id", "required", "请选择网点")
    v.check()
    assert code and day
    spot = place(branch_id, code)
    now = clock.now()
    if day not in service.bookable_dates(now):
        message = f"请选择今天起{service.HORIZON_DAYS}天内的日期"
        raise ValidationFailed([FieldError("date", "date_out_of_range", message)])
    if not service.hours_on(spot.branch, day):
        raise ValidationFailed([FieldError("date", "branch_closed", "该网点当天不营业，请选择其他日期")])
    state = store.day_state(branch_id, day)
    found = service.open_slots(spot.branch, spot.roster, code, day, state, now)
    return {
        "branch_id": branch_id, "branch_name": spot.branch["name"], "service": code, "date": day.isoformat(),
        "slots": [{"start": clock.iso(s), "time": clock.show_clock(s), "available": n} for s, n in found],
    }


# ----- customers ---------------------------------------------------------------------------

def booking_id_for(openid: str, idempotency_key: str | None) -> str:
    """The same form submitted twice names the same booking, so it is stored once."""
    key = (idempotency_key or "").strip()[:100] or uuid.uuid4().hex
    return hashlib.sha256(f"{openid}\n{key}".encode()).hexdigest()[:24]


def owned(openid: str, booking_id: str) -> store.Booking:
    """The customer's own booking; anyone else's is not found."""
    booking = store.get(booking_id) if booking_id and len(booking_id) <= 64 else None
    if booking is None or booking.openid != openid:
        raise NotFound("未找到该预约")
    return booking


def _books(openid: str, mobile_hash: str | None, now: datetime) -> store.Books:
    """The ledgers a change of a booking rewrites: the customer's and, when the booking
    knows it, the mobile number's; each pruned of past slots."""
    found = [store.ledger(openid)] + ([store.mobile_ledger(mobile_hash)] if mobile_hash else [])
    return [(book, service.upcoming(book.upcoming, now)) for book in found]


def create(openid: str, form: dict[str, Any]) -> store.Booking:
    v = Validator()
    branch_id = str(form.get("branch_id") or "").strip()
    if not branch_id:
        v.add("branch_id", "required", "请选择网点")
    code = service.check_service(form.get("service"), v)
    start = service.parse_slot(form.get("slot_start"), v)
    name, mobile, note = service.check_contact(form.get("name"), form.get("mobile"), form.get("note"), v)
    v.check()
    assert code and start
    booking_id = booking_id_for(openid, form.get("idempotency_key"))
    existing = store.get(booking_id)
    if existing is not None and existing.openid == openid:
        _announce("booking_confirmed", existing)
        return existing
    spot = place(branch_id, code)
    now = clock.now()
    service.check_slot(spot.branch, start, now)
    mobile_hash = pii.keyed_hash(mobile, "phone")
    sealed = None
    for attempt in range(ATTEMPTS):
        # the number's ledger is read first: when the customer's own bookings fill both, the
        # customer's ledger read after it holds them too, and the refusal is too_many_bookings
        by_mobile = store.mobile_ledger(mobile_hash)
        book = store.ledger(openid)
        if booking_id in book.upcoming:
            return create(openid, form)  # the same form won a moment ago: answer with it
        live = service.check_can_add(book.upcoming, start, now)
        mobile_live = service.check_mobile_can_add(by_mobile.upcoming, now)
        state = store.day_state(branch_id, clock.local(start).date())
        free = service.free_managers(spot.roster, code, state, start)
        if service.available(spot.roster, code, state, start) == 0:
            raise service.slot_full()
        sealed = sealed or pii.seal({"name": name, "mobile": mobile, "note": note}, {"booking_id": booking_id})
        stamp = clock.iso(now)
        booking = store.Booking(
            f"BOOKING#{booking_id}", "BOOKING", id=booking_id, openid=openid, branch_id=branch_id,
            branch_name=spot.branch["name"], service=code, sealed=sealed, name_masked=pii.mask_name(name),
            mobile_masked=pii.mask_phone(mobile), mobile_hash=mobile_hash, created_at=stamp, updated_at=stamp,
            status="confirmed",
        )
        booking.place(start, free[0])
        books = [(book, live), (by_mobile, mobile_live)]
        try:
            store.create(booking, free[0], service.capacity(spot.roster, code), books)
        except dynamo.Cancelled as lost:
            if "booking" in lost.failed:
                return create(openid, form)  # the same form won a moment ago: answer with it
            if "guard" in lost.failed:
                raise service.slot_taken_by_user() from None
            if "counter" in lost.failed:
                raise service.slot_full() from None
            _pause(attempt)  # a manager or a ledger changed meanwhile
            continue
        logger.info("booking confirmed", extra={"booking_id": booking_id, "branch_id": branch_id, "service_code": code})
        _announce("booking_confirmed", booking)
        _remind_if_missed(booking, now)
        return booking
    raise busy()


def mine(openid: str) -> list[store.Booking]:
    """The customer's bookings from a week ago on, soonest first."""
    return store.of_user(openid, since=clock.now() - timedelta(days=7))


def upcoming(openid: str) -> list[store.Booking]:
    now = clock.now()
    return [b for b in store.of_user(openid, since=now) if b.status == "confirmed"]


def cancel(openid: str, booking_id: str) -> store.Booking:
    booking = owned(openid, booking_id)
    for attempt in range(ATTEMPTS):
        if booking.status == "cancelled":  # a repeated request: same answer, same event
            _announce("booking_cancelled", booking)
            return booking
        now = clock.now()
        service.check_changeable(booking.start, booking.status, now)
        try:
            store.cancel(booking, _books(openid, booking.mobile_hash, now))
        except dynamo.Cancelled:
            _pause(attempt)
            booking = owned(openid, booking_id)
            continue
        logger.info("booking cancelled", extra={"booking_id": booking_id})
        _announce("booking_cancelled", booking)
        return booking
    raise busy()


def reschedule(openid: str, booking_id: str, slot_text: str | None) -> store.Booking:
    """Move a booking to another slot of the same branch and service; the old seat is given
    back only if the new one is taken."""
    booking = owned(openid, booking_id)
    v = Validator()
    start = service.parse_slot(slot_text, v)
    v.check()
    assert start
    now = clock.now()
    service.check_changeable(booking.start, booking.status, now)
    if start == booking.start:
        raise service.field_error(400, "same_slot", "slot_start", "新时段与原预约相同，请选择其他时段")
    spot = place(booking.branch_id, booking.service)
    service.check_slot(spot.branch, start, now)
    seen = booking.slot_start
    for attempt in range(ATTEMPTS):
        books = _books(openid, booking.mobile_hash, now)
        if clock.iso(start) in books[0][1].values():  # the customer's own ledger comes first
            raise service.slot_taken_by_user()
        state = store.day_state(booking.branch_id, clock.local(start).date())
        free = service.free_managers(spot.roster, booking.service, state, start)
        if service.available(spot.roster, booking.service, state, start) == 0:
            raise service.slot_full()
        try:
            store.move(booking, start, free[0], service.capacity(spot.roster, booking.service), books)
        except dynamo.Cancelled as lost:
            if "booking" in lost.failed:
                raise Conflict("booking_changed", "该预约刚刚已被修改，请刷新后重试") from None
            if "new_guard" in lost.failed:
                raise service.slot_taken_by_user() from None
            if "new_counter" in lost.failed:
                raise service.slot_full() from None
            _pause(attempt)
            booking = owned(openid, booking_id)
            if booking.slot_start != seen or booking.status != "confirmed":
                raise Conflict("booking_changed", "该预约刚刚已被修改，请刷新后重试") from None
            continue
        logger.info("booking rescheduled", extra={"booking_id": booking_id})
        _announce("booking_rescheduled", booking)
        _remind_if_missed(booking, clock.now())
        return booking
    raise busy()


# ----- staff -------------------------------------------------------------------------------

def day_list(member: Staff, branch_id: str, day_text: str | None) -> list[store.Booking]:
    """A day's bookings of the customer manager's own branch."""
    v = Validator()
    day = service.parse_date(day_text, v)
    v.check()
    assert day
    service.check_own_branch(member.branch, branch_id)
    place(branch_id)
    return store.on_date(day, branch_id)


def mark(member: Staff, booking_id: str, status: str | None) -> store.Booking:
    """Attended or no-show, from the slot's day on, by a customer manager of the booking's
    branch; recorded on the audit trail with the outcome."""
    if status not in ("attended", "no_show"):
        raise ValidationFailed([FieldError("status", "invalid_status", "状态只能是 attended 或 no_show")])
    booking = store.get(booking_id) if booking_id and len(booking_id) <= 64 else None
    if booking is None:
        raise NotFound("未找到该预约")
    service.check_own_branch(member.branch, booking.branch_id)
    trail = audit.record(member, CUSTOMER_MANAGER, audit.BOOKING_OUTCOME, booking_id=booking_id, detail=status)
    for attempt in range(ATTEMPTS):
        now = clock.now()
        if booking.status != "confirmed":
            raise Conflict("not_active", "该预约已取消或已登记")
        if booking.day > clock.local(now).date():
            raise Conflict("not_yet", "预约日期未到，无法登记")
        try:
            store.mark(booking, status, _books(booking.openid, booking.mobile_hash, now), trail)
        except dynamo.Cancelled:
            _pause(attempt)
            booking = store.get(booking_id) or booking
            continue
        return booking
    raise busy()


# ----- reminders ---------------------------------------------------------------------------

def send_reminders() -> int:
    """booking_reminder for every confirmed booking of tomorrow (Asia/Shanghai)."""
    tomorrow: date = clock.local().date() + timedelta(days=1)
    sent = 0
    for booking in store.on_date(tomorrow):
        if booking.status == "confirmed":
            _remind(booking)
            sent += 1
    logger.info("reminders sent", extra={"count": sent, "date": tomorrow.isoformat()})
    return sent


def _remind(booking: store.Booking) -> None:
    """One reminder per booking and slot, whoever sends it (the same event id)."""
    _announce("booking_reminder", booking, suffix=booking.slot_start)


def _remind_if_missed(booking: store.Booking, now: datetime) -> None:
    if service.missed_reminder_run(booking.start, now):
        _remind(booking)


# ----- shaping -----------------------------------------------------------------------------

def detail_path(booking_id: str) -> str:
    """The booking's page as an app path: notify puts it on the public base URL of its own
    stage (the notify-events contract carries paths)."""
    return f"/booking/b/{booking_id}"


def _announce(event_type: str, booking: store.Booking, suffix: str = "") -> None:
    """Publish an event about a booking; its id is derived from the change, so a retried
    request publishes the same event and notify delivers it once."""
    data = {
        "openid": booking.openid, "booking_id": booking.id, "branch_id": booking.branch_id,
        "branch_name": booking.branch_name, "service": service.SERVICES[booking.service],
        "service_code": booking.service, "slot_start": booking.slot_start, "manager": booking.manager_name,
        "url": detail_path(booking.id),
    }
    if event_type == "booking_rescheduled":
        suffix = f"{booking.slot_start}@{booking.updated_at}"
    events.publish(event_type, data, SOURCE, event_id=events.booking_event_id(event_type, booking.id, suffix))


def describe(booking: store.Booking, now: datetime | None = None) -> dict[str, Any]:
    """A booking as customers and staff see it: personal data masked."""
    now = now or clock.now()
    changeable = booking.status == "confirmed" and booking.start - now >= service.CANCEL_BEFORE
    return {
        "id": booking.id, "branch_id": booking.branch_id, "branch_name": booking.branch_name,
        "service": booking.service, "service_name": service.SERVICES[booking.service],
        "slot_start": booking.slot_start, "time": clock.show_time(booking.start),
        "manager": booking.manager_name, "status": booking.status, "status_name": STATUS_NAMES[booking.status],
        "name": booking.name_masked, "mobile": booking.mobile_masked, "changeable": changeable,
    }

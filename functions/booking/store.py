"""booking's table (single-table design, see infra/resources/booking.yml) and the
transactions that keep seats, managers and customers' limits consistent.

Every change of a booking is one DynamoDB transaction over:
  the booking item, the slot's seat counter for the service (capacity condition), the
  manager's seat in the slot, the customer's guard for the slot, and the ledgers of upcoming
  bookings (optimistic version) of the customer and of the mobile number booked with.
A failed condition cancels the whole transaction; `dynamo.Cancelled` names which parts failed.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute, VersionAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from functions.booking.roster import ROSTER
from functions.booking.service import DayState, Manager
from functions.common import audit, clock, dynamo
from functions.common.dynamo import Model, TTLAttribute, expires_at, table_meta

KEEP_SLOT_ITEMS = timedelta(days=30)  # counters, seats and guards outlive their slot by this


def slot_key(start: datetime) -> str:
    return clock.iso(start)


def day_pk(branch_id: str, day: date) -> str:
    return f"DAY#{branch_id}#{day.isoformat()}"


def user_pk(openid: str) -> str:
    return f"USER#{openid}"


def mobile_pk(mobile_hash: str) -> str:
    """A mobile number's partition, by keyed hash (pii.keyed_hash(number, "phone"))."""
    return f"PHONE#{mobile_hash}"


class RosterEntry(Model):
    """A customer manager of a branch; `skills` are service codes. (The picker reads which
    branches have one without PynamoDB: roster.py.)"""

    Meta = table_meta("bookings")
    pk = UnicodeAttribute(hash_key=True)  # ROSTER
    sk = UnicodeAttribute(range_key=True)  # <branch>#<manager>
    branch_id = UnicodeAttribute()
    manager_id = UnicodeAttribute()
    name = UnicodeAttribute()
    skills = UnicodeSetAttribute()

    def manager(self) -> Manager:
        return Manager(self.manager_id, self.name, frozenset(self.skills))


class ByUser(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_pk = UnicodeAttribute(hash_key=True)
    user_sk = UnicodeAttribute(range_key=True)


class ByDate(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_date"
        projection = AllProjection()

    date_pk = UnicodeAttribute(hash_key=True)
    date_sk = UnicodeAttribute(range_key=True)


class Booking(Model):
    Meta = table_meta("bookings")
    pk = UnicodeAttribute(hash_key=True)  # BOOKING#<id>
    sk = UnicodeAttribute(range_key=True, default="BOOKING")
    id = UnicodeAttribute()
    openid = UnicodeAttribute()
    branch_id = UnicodeAttribute()
    branch_name = UnicodeAttribute()
    service = UnicodeAttribute()
    slot_start = UnicodeAttribute()  # ISO-8601 UTC
    manager_id = UnicodeAttribute()
    manager_name = UnicodeAttribute()
    status = UnicodeAttribute(default="confirmed")  # confirmed | cancelled | attended | no_show
    sealed = UnicodeAttribute()  # pii.seal({name, mobile, note}, {"booking_id": id})
    name_masked = UnicodeAttribute()
    mobile_masked = UnicodeAttribute()
    mobile_hash = UnicodeAttribute(null=True)  # keyed hash: finds the mobile number's ledger
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    user_pk = UnicodeAttribute()
    user_sk = UnicodeAttribute()
    date_pk = UnicodeAttribute()
    date_sk = UnicodeAttribute()
    by_user = ByUser()
    by_date = ByDate()

    @property
    def start(self) -> datetime:
        return clock.parse_utc(self.slot_start)

    @property
    def day(self) -> date:
        return clock.local(self.start).date()

    def place(self, start: datetime, manager: Manager) -> None:
        """Put the booking in a slot with a manager (and its index keys with it)."""
        self.slot_start = slot_key(start)
        self.manager_id, self.manager_name = manager.id, manager.name
        self.user_pk, self.user_sk = user_pk(self.openid), f"{self.slot_start}#{self.id}"
        self.date_pk = f"DATE#{self.day.isoformat()}"
        self.date_sk = f"{self.branch_id}#{self.slot_start}#{self.id}"


class DayEntry(Model):
    """A slot's seat counter (COUNT#<slot>#<service>, `n`) or a manager's seat in a slot
    (SEAT#<slot>#<manager>, `booking_id`), under one partition per branch and day."""

    Meta = table_meta("bookings")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    n = NumberAttribute(null=True)
    booking_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class Guard(Model):
    """USER#<openid> / SLOT#<slot>: the customer's one booking in that slot."""

    Meta = table_meta("bookings")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    booking_id = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)


class Ledger(Model):
    """USER#<openid> / LEDGER or PHONE#<mobile hash> / LEDGER: {booking id: slot start} of
    the upcoming bookings of a customer or of a mobile number. Every change goes through its
    version, so the limits hold under concurrency; it expires with its last slot, like guards."""

    Meta = table_meta("bookings")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="LEDGER")
    upcoming = JSONAttribute(default=dict)
    version = VersionAttribute()
    expires_at = TTLAttribute(null=True)

    @property
    def label(self) -> str:
        """Its part's name in a transaction (see `Cancelled`)."""
        return "mobile_ledger" if self.pk.startswith("PHONE#") else "ledger"


Books = Sequence[tuple[Ledger, dict[str, str]]]  # ledgers read for a change, each pruned of past slots


# ----- reads -------------------------------------------------------------------------------

def roster(branch_id: str) -> list[Manager]:
    return [r.manager() for r in RosterEntry.query(ROSTER, RosterEntry.sk.startswith(f"{branch_id}#"))]


def put_manager(branch_id: str, manager: Manager) -> None:
    RosterEntry(
        ROSTER, f"{branch_id}#{manager.id}", branch_id=branch_id, manager_id=manager.id,
        name=manager.name, skills=set(manager.skills),
    ).save()


def day_state(branch_id: str, day: date) -> DayState:
    counts: dict[tuple[datetime, str], int] = {}
    busy: dict[datetime, set[str]] = {}
    for entry in DayEntry.query(day_pk(branch_id, day), consistent_read=True):
        kind, slot, rest = entry.sk.split("#", 2)
        start = clock.parse_utc(slot)
        if kind == "COUNT":
            counts[(start, rest)] = int(entry.n or 0)
        elif kind == "SEAT":
            busy.setdefault(start, set()).add(rest)
    return DayState(counts, {k: frozenset(v) for k, v in busy.items()})


def counter(branch_id: str, start: datetime, service: str) -> int:
    """Seats taken in a slot for a service (for checks and reports)."""
    day = clock.local(start).date()
    try:
        entry = DayEntry.get(day_pk(branch_id, day), f"COUNT#{slot_key(start)}#{service}", consistent_read=True)
    except DayEntry.DoesNotExist:
        return 0
    return int(entry.n or 0)


def get(booking_id: str) -> Booking | None:
    try:
        return Booking.get(f"BOOKING#{booking_id}", "BOOKING", consistent_read=True)
    except Booking.DoesNotExist:
        return None


def of_user(openid: str, since: datetime | None = None) -> list[Booking]:
    condition = Booking.user_sk >= slot_key(since) if since else None
    return list(Booking.by_user.query(user_pk(openid), condition))


def on_date(day: date, branch_id: str | None = None) -> list[Booking]:
    condition = Booking.date_sk.startswith(f"{branch_id}#") if branch_id else None
    return list(Booking.by_date.query(f"DATE#{day.isoformat()}", condition))


def _ledger(pk: str) -> Ledger:
    try:
        return Ledger.get(pk, "LEDGER", consistent_read=True)
    except Ledger.DoesNotExist:
        return Ledger(pk, "LEDGER", upcoming={})


def ledger(openid: str) -> Ledger:
    return _ledger(user_pk(openid))


def mobile_ledger(mobile_hash: str) -> Ledger:
    return _ledger(mobile_pk(mobile_hash))


# ----- transactions ------------------------------------------------------------------------

def _keep_until(start: datetime) -> int:
    return expires_at(start + KEEP_SLOT_ITEMS)


def _take(tx: dynamo.LabelledTransaction, prefix: str, booking: Booking, start: datetime, manager: Manager,
          cap: int) -> None:
    """Take a seat of the service in the slot (capacity), the manager and the customer's slot."""
    pk = day_pk(booking.branch_id, clock.local(start).date())
    key = slot_key(start)
    count = DayEntry(pk, f"COUNT#{key}#{booking.service}")
    tx.update(f"{prefix}counter", count, [DayEntry.n.add(1), DayEntry.expires_at.set(_keep_until(start))],
              condition=DayEntry.n.does_not_exist() | (DayEntry.n < cap))
    seat = DayEntry(pk, f"SEAT#{key}#{manager.id}", booking_id=booking.id, expires_at=_keep_until(start))
    tx.put(f"{prefix}seat", seat, condition=DayEntry.pk.does_not_exist())
    guard = Guard(user_pk(booking.openid), f"SLOT#{key}", booking_id=booking.id, expires_at=_keep_until(start))
    tx.put(f"{prefix}guard", guard, condition=Guard.pk.does_not_exist())


def _release(tx: dynamo.LabelledTransaction, prefix: str, booking: Booking) -> None:
    """Give back what `_take` took for the booking's current slot."""
    pk = day_pk(booking.branch_id, booking.day)
    tx.update(f"{prefix}counter", DayEntry(pk, f"COUNT#{booking.slot_start}#{booking.service}"),
              [DayEntry.n.add(-1)], condition=DayEntry.n > 0)
    tx.delete(f"{prefix}seat", DayEntry(pk, f"SEAT#{booking.slot_start}#{booking.manager_id}"),
              condition=DayEntry.booking_id == booking.id)
    tx.delete(f"{prefix}guard", Guard(user_pk(booking.openid), f"SLOT#{booking.slot_start}"),
              condition=Guard.booking_id == booking.id)


def _write(tx: dynamo.LabelledTransaction, books: Books, change: Callable[[dict[str, str]], dict[str, str]]) -> None:
    """Put each ledger with `change` applied to its upcoming bookings (the put is conditioned
    on the version read, so a ledger changed meanwhile cancels the transaction)."""
    for book, upcoming in books:
        book.upcoming = change(upcoming)
        last = max((clock.parse_utc(s) for s in book.upcoming.values()), default=clock.now())
        book.expires_at = _keep_until(last)
        tx.put(book.label, book)


def create(booking: Booking, manager: Manager, cap: int, books: Books) -> None:
    """Store a new booking with its seat. Parts: booking (exists → same request again),
    counter (full), seat (manager taken meanwhile), guard (customer has that slot),
    ledger and mobile_ledger (changed meanwhile)."""
    tx = dynamo.LabelledTransaction()
    tx.put("booking", booking, condition=Booking.pk.does_not_exist())
    _take(tx, "", booking, booking.start, manager, cap)
    _write(tx, books, lambda upcoming: {**upcoming, booking.id: booking.slot_start})
    tx.commit()


def cancel(booking: Booking, books: Books) -> None:
    """Cancel a confirmed booking, free its seat and its place in the ledgers. Parts:
    booking (no longer confirmed)."""
    tx = dynamo.LabelledTransaction()
    now = clock.iso(clock.now())
    tx.update("booking", booking, [Booking.status.set("cancelled"), Booking.updated_at.set(now)],
              condition=(Booking.status == "confirmed") & (Booking.slot_start == booking.slot_start))
    _release(tx, "old_", booking)
    _write(tx, books, lambda upcoming: {k: v for k, v in upcoming.items() if k != booking.id})
    tx.commit()
    booking.status, booking.updated_at = "cancelled", now


def move(booking: Booking, start: datetime, manager: Manager, cap: int, books: Books) -> None:
    """Move a booking to another slot: the new seat is taken and the old one released in one
    transaction, or nothing changes. Parts: booking (changed meanwhile), new_counter (full),
    new_seat, new_guard, ledger, mobile_ledger."""
    tx = dynamo.LabelledTransaction()
    old_start = booking.slot_start
    moved = Booking(**{k: getattr(booking, k) for k in booking.get_attributes()})
    moved.place(start, manager)
    moved.updated_at = clock.iso(clock.now())
    tx.put("booking", moved, condition=(Booking.status == "confirmed") & (Booking.slot_start == old_start))
    _release(tx, "old_", booking)
    _take(tx, "new_", moved, start, manager, cap)
    _write(tx, books, lambda upcoming: {**upcoming, booking.id: moved.slot_start})
    tx.commit()
    for name in booking.get_attributes():
        setattr(booking, name, getattr(moved, name))


def mark(booking: Booking, status: str, books: Books, trail: audit.Record) -> None:
    """Staff record the outcome; the booking leaves the upcoming ones of the customer and
    the mobile number, and its seat stays taken (the manager's time was spent). The
    outcome's audit record goes in the same transaction."""
    tx = dynamo.LabelledTransaction()
    tx.put("audit", trail, condition=audit.NEW)
    now = clock.iso(clock.now())
    tx.update("booking", booking, [Booking.status.set(status), Booking.updated_at.set(now)],
              condition=Booking.status == "confirmed")
    _write(tx, books, lambda upcoming: {k: v for k, v in upcoming.items() if k != booking.id})
    tx.commit()
    booking.status, booking.updated_at = status, now

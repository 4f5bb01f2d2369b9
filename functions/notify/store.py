"""notify's table (single-table design) and its queries.

Item kinds, by key:
  binding    OPENID#<openid> / CARD#<card hash>
  listeners  LISTEN#<customer>#<last4> / LISTENERS      (the card's active bindings)
  one-time   OTP#<openid> / OTP                         (TTL)
  rate       RATE#<scope>#<key>#<window> / RATE          (TTL)
  delivery   EVT#<event id> / <channel>#<recipient>      inbox: INBOX#<openid> / <created>; by msgid: MSG#<msgid>
  report     REPORT#<openid> / <msgid>                   (TTL; a delivery report no delivery knew)
  statement  STMT#<customer>#<last4> / <due date>#<id>   due while unpaid: DUE#<due date> / <customer>#<id>
  pending    PENDING / <due at>#<event id>               (a message waiting for its time)

Two global secondary indexes serve them. The table's index `gsi1` (keys `gsi1pk`, `gsi1sk`)
is shared: deliveries are listed in it under their openid's inbox (`Inbox`), unpaid
statements under their due date (`DueDates`); `gsi2` (key `gsi2pk`, keys only) finds a
delivery by WeChat's msgid (`ByMsgid`). The names in the table are the deployed ones.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

from functions.common import clock, dynamo
from functions.common.dynamo import Model, TTLAttribute, expires_at, table_meta
from functions.common.write_group import WriteGroup
from functions.notify import corebank

DELIVERY_KEEP_DAYS = 90


class Inbox(GlobalSecondaryIndex):
    """An openid's WeChat deliveries, oldest first."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    inbox_of = UnicodeAttribute(hash_key=True, attr_name="gsi1pk")  # INBOX#<openid>
    sent_order = UnicodeAttribute(range_key=True, attr_name="gsi1sk")  # <created>#<event id>


class DueDates(GlobalSecondaryIndex):
    """Unpaid statements by due date (the same index as Inbox: other items, other keys)."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    due_on = UnicodeAttribute(hash_key=True, attr_name="gsi1pk")  # DUE#<due date>
    due_order = UnicodeAttribute(range_key=True, attr_name="gsi1sk")  # <customer>#<last4>#<statement id>


class ByMsgid(GlobalSecondaryIndex):
    """The delivery WeChat gave a msgid."""

    class Meta:
        index_name = "gsi2"
        projection = KeysOnlyProjection()

    msgid_key = UnicodeAttribute(hash_key=True, attr_name="gsi2pk")  # MSG#<msgid>


class _Item(Model):
    Meta = table_meta("notify")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


# --- bindings ---------------------------------------------------------------------------


class Binding(_Item):
    """A card bound to an openid, under the openid (its page). Who to tell about a card's
    events is kept apart, in the card's Listeners item."""

    openid = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    card_hash = UnicodeAttribute()
    card_last4 = UnicodeAttribute()
    active = BooleanAttribute(default=True)
    bound_at = UTCDateTimeAttribute()


class Listeners(_Item):
    """The active bindings of a customer's card (by its last four digits), as
    `<openid>#<card hash>`: one item, so the consumer reads a whole batch's with one
    BatchGetItem. Written in the same transaction as the bindings themselves; reads are
    strongly consistent, so a card bound a second ago already gets its alerts."""

    active = UnicodeSetAttribute(null=True)


def _listeners_key(customer_id: str, last4: str) -> tuple[str, str]:
    return f"LISTEN#{customer_id}#{last4}", "LISTENERS"


def bindings_of(openid: str) -> list[Binding]:
    return list(Binding.query(f"OPENID#{openid}", Binding.sk.startswith("CARD#"), consistent_read=True))


def listening(cards: list[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """The openids actively bound to each (customer, last four digits), in one batch read."""
    keys = {_listeners_key(*card): card for card in cards}
    found: dict[tuple[str, str], list[str]] = {card: [] for card in cards}
    for item in Listeners.batch_get(list(keys), consistent_read=True):
        found[keys[(item.pk, item.sk)]] = sorted({member.split("#", 1)[0] for member in item.active or ()})
    return found


def bind(openid: str, customer_id: str, card_hash: str, last4: str) -> Binding:
    binding = Binding(f"OPENID#{openid}", f"CARD#{card_hash}", openid=openid, customer_id=customer_id,
                      card_hash=card_hash, card_last4=last4, active=True, bound_at=clock.now())
    with dynamo.transaction() as tx:
        tx.save(binding)
        tx.update(Listeners(*_listeners_key(customer_id, last4)),
                  actions=[Listeners.active.add({f"{openid}#{card_hash}"})])
    return binding


def unbind(openid: str, card_hash: str) -> bool:
    try:
        binding = Binding.get(f"OPENID#{openid}", f"CARD#{card_hash}", consistent_read=True)
    except Binding.DoesNotExist:
        return False
    with dynamo.transaction() as tx:
        tx.delete(binding)
        tx.update(Listeners(*_listeners_key(binding.customer_id, binding.card_last4)),
                  actions=[Listeners.active.delete({f"{openid}#{card_hash}"})])
    return True


def deactivate_all(openid: str) -> int:
    """The openid unfollowed: its bindings stay, silent, until it binds again."""
    bindings = [b for b in bindings_of(openid) if b.active]
    for b in bindings:
        with dynamo.transaction() as tx:
            tx.update(b, actions=[Binding.active.set(False)], condition=Binding.pk.exists())
            tx.update(Listeners(*_listeners_key(b.customer_id, b.card_last4)),
                      actions=[Listeners.active.delete({f"{openid}#{b.card_hash}"})])
    return len(bindings)


# --- one-time codes and rate limits -----------------------------------------------------


class Otp(_Item):
    code_hash = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    card_hash = UnicodeAttribute()
    card_last4 = UnicodeAttribute()
    # what the binding's announcement says of the card (events.CUSTOMER_SCHEMAS)
    card_kind = UnicodeAttribute(default="credit")
    phone_masked = UnicodeAttribute(default="")
    tries = NumberAttribute(default=0)
    expires_at = TTLAttribute()


def save_otp(openid: str, code_hash: str, card: corebank.Card, phone_masked: str, ttl_s: int) -> None:
    Otp(f"OTP#{openid}", "OTP", code_hash=code_hash, customer_id=card.customer_id, card_hash=card.card_hash,
        card_last4=card.last4, card_kind=card.kind, phone_masked=phone_masked, tries=0,
        expires_at=clock.epoch() + ttl_s).save()


def get_otp(openid: str) -> Otp | None:
    try:
        return Otp.get(f"OTP#{openid}", "OTP", consistent_read=True)
    except Otp.DoesNotExist:
        return None


def spend_try(otp: Otp, max_tries: int) -> bool:
    """Count one verification attempt atomically; False once the code has used its tries."""
    return otp.update_if([Otp.tries.add(1)], Otp.tries < max_tries)


def delete_otp(openid: str) -> None:
    Otp(f"OTP#{openid}", "OTP").delete()


class RateCounter(_Item):
    hits = NumberAttribute(default=0)
    expires_at = TTLAttribute()


def take(scope: str, key: str, limit: int, window_s: int) -> bool:
    """Count one use in the current fixed window; False when the window's limit is spent."""
    now = clock.epoch()
    window = now - now % window_s
    counter = RateCounter(f"RATE#{scope}#{key}#{window}", "RATE")
    return counter.update_if([RateCounter.hits.add(1), RateCounter.expires_at.set(window + window_s)],
                             RateCounter.hits.does_not_exist() | (RateCounter.hits < limit))


# --- deliveries -------------------------------------------------------------------------

CLAIMED, RETRY, SENT, UNREACHABLE, REJECTED = "claimed", "retry", "sent", "unreachable", "rejected"
# A send that timed out after reaching WeChat (see delivery.py), and one that stayed so
# after its single resend (never sent again).
UNCERTAIN, UNCONFIRMED = "uncertain", "unconfirmed"
DONE = frozenset({SENT, UNREACHABLE, REJECTED, UNCONFIRMED})
REPORT_KEEP_DAYS = 2


class Delivery(_Item):
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    channel = UnicodeAttribute()
    recipient = UnicodeAttribute()
    status = UnicodeAttribute()
    token = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(default=0)
    attempts = NumberAttribute(default=0)
    msgid = UnicodeAttribute(null=True)
    final_status = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    values = JSONAttribute(null=True)
    url = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    uncertain_at = UTCDateTimeAttribute(null=True)   # start of the first send that timed out
    recheck_at = UTCDateTimeAttribute(null=True)     # end of the latest such send's window
    uncertain_sends = NumberAttribute(default=0)
    inbox_of = UnicodeAttribute(null=True, attr_name="gsi1pk")
    sent_order = UnicodeAttribute(null=True, attr_name="gsi1sk")
    msgid_key = UnicodeAttribute(null=True, attr_name="gsi2pk")
    expires_at = TTLAttribute(null=True)
    inbox = Inbox()
    by_msgid = ByMsgid()


_settles = WriteGroup(Delivery)


def delivery_key(event_id: str, channel: str, recipient: str) -> tuple[str, str]:
    return f"EVT#{event_id}", f"{channel}#{recipient}"


def claim(event_id: str, event_type: str, channel: str, recipient: str, token: str, lease_s: int,
          title: str, values: dict, url: str | None) -> tuple[str, Delivery]:
    """Take the right to send one delivery. Returns ("claimed", item) for the caller to send;
    ("done", item) when it was already sent or settled; ("busy", item) while another
    consumer holds a live claim; ("uncertain", item) while an uncertain send waits for its
    delivery report (until `recheck_at`). A claim whose lease ran out (its holder died), or
    an uncertain send past its window, is taken over. Every step is a conditional write, so
    of two consumers racing only one gets the claim; a write whose condition fails on our own
    token landed before the SDK retried it (a read timeout), and the claim is ours."""
    now = clock.now()
    lease_until = int(now.timestamp()) + lease_s
    item = Delivery(
        *delivery_key(event_id, channel, recipient), event_id=event_id, event_type=event_type, channel=channel,
        recipient=recipient, status=CLAIMED, token=token, lease_until=lease_until, attempts=1, title=title,
        values=values, url=url, created_at=now, expires_at=expires_at(now + timedelta(days=DELIVERY_KEEP_DAYS)),
    )
    if channel == "wx":
        item.inbox_of, item.sent_order = f"INBOX#{recipient}", f"{clock.iso(now)}#{event_id}"
    if item.save_if(Delivery.pk.does_not_exist()):
        return CLAIMED, item
    current = Delivery.get(*delivery_key(event_id, channel, recipient), consistent_read=True)
    if current.status == CLAIMED and current.token == token:  # ours: the SDK retried a write that landed
        return CLAIMED, current
    if current.status in DONE:
        return "done", current
    if current.status == CLAIMED and current.lease_until >= int(now.timestamp()):
        return "busy", current
    if current.status == UNCERTAIN and current.recheck_at is not None and now < current.recheck_at:
        return UNCERTAIN, current
    seen_status, seen_token = current.status, current.token
    current.status, current.token, current.lease_until = CLAIMED, token, lease_until
    current.attempts = (current.attempts or 0) + 1
    unchanged = Delivery.status == seen_status
    unchanged &= (Delivery.token == seen_token) if seen_token else Delivery.token.does_not_exist()
    if not current.save_if(unchanged):
        ours = get_delivery(event_id, channel, recipient)
        return (CLAIMED, ours) if ours is not None and ours.token == token else ("busy", current)
    return CLAIMED, current


def settling():
    """Around a claim and its send (a `with` block or a decorator): its settle waits for,
    and is written with, the settles of the sends running beside it (see settle)."""
    return _settles.promise()


def settle(item: Delivery, status: str, msgid: str | None = None, error: str | None = None,
           final_status: str | None = None) -> None:
    """End a claim: sent (with msgid, and WeChat's report when that is what settled it),
    unreachable, rejected, unconfirmed, or back to retry. Only the holder of a live claim
    settles it, so the write needs no condition: while the lease runs nobody else writes the
    delivery (claims are conditional on it), and a holder settles long before its lease ends
    (LEASE_S outlasts notifyEvents' whole timeout). The settles of a batch's concurrent sends
    are written together (write_group.WriteGroup)."""
    item.status, item.token, item.lease_until = status, None, 0
    if msgid:
        item.msgid, item.msgid_key = msgid, f"MSG#{msgid}"
    if final_status:
        item.final_status = final_status
    if status == SENT:
        item.sent_at = clock.now()
    if error:
        item.error = error[:200]
    _settles.save(item)


def mark_uncertain(item: Delivery, started: datetime, window: timedelta, error: str) -> None:
    """End a claim whose send timed out after reaching WeChat: nobody sends it again before
    `started + window` (see delivery.py)."""
    token = item.token
    item.status, item.token, item.lease_until = UNCERTAIN, None, 0
    item.uncertain_at = item.uncertain_at or started
    item.recheck_at = started + window
    item.uncertain_sends = (item.uncertain_sends or 0) + 1
    item.error = error[:200]
    item.save(condition=Delivery.token == token)


def get_delivery(event_id: str, channel: str, recipient: str) -> Delivery | None:
    try:
        return Delivery.get(*delivery_key(event_id, channel, recipient), consistent_read=True)
    except Delivery.DoesNotExist:
        return None


def report(msgid: str, status: str, openid: str = "") -> bool:
    """Record WeChat's final word on a template message (TEMPLATESENDJOBFINISH). A report
    whose msgid no delivery knows is kept under its openid for an uncertain send to claim
    (delivery.py); False then."""
    if msgid_known(msgid, status):
        return True
    if openid and msgid:
        now = clock.now()
        kept = Report(f"REPORT#{openid}", msgid, status=status, received_at=now,
                      expires_at=expires_at(now + timedelta(days=REPORT_KEEP_DAYS)))
        kept.save_if(Report.pk.does_not_exist())  # False: WeChat pushed it twice, kept once
    return False


def msgid_known(msgid: str, final_status: str | None = None) -> bool:
    """Whether a delivery holds `msgid`; that delivery takes `final_status` if given."""
    for key in Delivery.by_msgid.query(f"MSG#{msgid}"):
        if final_status:
            Delivery(key.pk, key.sk).update(actions=[Delivery.final_status.set(final_status)])
        return True
    return False


class Report(_Item):
    """A delivery report that came before (or without) its delivery's msgid."""

    status = UnicodeAttribute()
    received_at = UTCDateTimeAttribute()
    taken_by = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()

    @property
    def msgid(self) -> str:
        return self.sk


def kept_reports(openid: str, since: datetime) -> list[Report]:
    """Reports kept for `openid` that came at or after `since`, oldest first."""
    reports = [r for r in Report.query(f"REPORT#{openid}", consistent_read=True)
               if r.received_at >= since and r.expires_at > clock.epoch()]
    return sorted(reports, key=lambda r: (r.received_at, r.sk))


def take_report(report: Report, taker: str) -> bool:
    """Give a kept report to one delivery (`taker`, its key); False when another has it."""
    return report.update_if([Report.taken_by.set(taker)],
                            Report.taken_by.does_not_exist() | (Report.taken_by == taker))


def inbox(openid: str, since: datetime, limit: int = 100) -> list[Delivery]:
    """The openid's WeChat deliveries since `since`, newest first."""
    return list(Delivery.inbox.query(
        f"INBOX#{openid}", Inbox.sent_order >= clock.iso(since), scan_index_forward=False, limit=limit,
    ))


# --- statements -------------------------------------------------------------------------


class Statement(_Item):
    customer_id = UnicodeAttribute()
    card_last4 = UnicodeAttribute()
    statement_id = UnicodeAttribute()
    amount_due_fen = NumberAttribute()
    minimum_due_fen = NumberAttribute()
    due_date = UnicodeAttribute()
    paid_fen = NumberAttribute(default=0)
    payments = UnicodeSetAttribute(null=True)
    due_on = UnicodeAttribute(null=True, attr_name="gsi1pk")
    due_order = UnicodeAttribute(null=True, attr_name="gsi1sk")
    by_due_date = DueDates()

    @property
    def remaining_fen(self) -> int:
        return max(0, int(self.amount_due_fen) - int(self.paid_fen))


def save_statement(customer_id: str, last4: str, statement_id: str, amount_due_fen: int, minimum_due_fen: int,
                   due_date: str) -> bool:
    """Store a statement once (a redelivered statement_issued keeps any payment made since)."""
    statement = Statement(
        f"STMT#{customer_id}#{last4}", f"{due_date}#{statement_id}", customer_id=customer_id, card_last4=last4,
        statement_id=statement_id, amount_due_fen=amount_due_fen, minimum_due_fen=minimum_due_fen,
        due_date=due_date, paid_fen=0,
    )
    if amount_due_fen > 0:
        statement.due_on, statement.due_order = f"DUE#{due_date}", f"{customer_id}#{last4}#{statement_id}"
    return statement.save_if(Statement.pk.does_not_exist())


def latest_statement(customer_id: str, last4: str) -> Statement | None:
    for statement in Statement.query(f"STMT#{customer_id}#{last4}", scan_index_forward=False, limit=1):
        return statement
    return None


def find_statement(customer_id: str, last4: str, statement_id: str) -> Statement | None:
    matching = Statement.statement_id == statement_id
    for statement in Statement.query(f"STMT#{customer_id}#{last4}", filter_condition=matching):
        return statement
    return None


def apply_payment(statement: Statement, payment_id: str, amount_fen: int) -> bool:
    """Add a payment once (by its event id); a fully paid statement leaves the due-date index,
    which stops its reminders. False when this payment was already applied."""
    if not statement.update_if([Statement.paid_fen.add(amount_fen), Statement.payments.add({payment_id})],
                               Statement.payments.does_not_exist() | ~Statement.payments.contains(payment_id)):
        return False
    if statement.remaining_fen == 0 and statement.due_on:
        statement.update(actions=[Statement.due_on.remove(), Statement.due_order.remove()])
    return True


def unpaid_due_on(due_date: str) -> list[Statement]:
    return list(Statement.by_due_date.query(f"DUE#{due_date}"))


def get_statement(customer_id: str, last4: str, due_date: str, statement_id: str) -> Statement | None:
    try:
        return Statement.get(f"STMT#{customer_id}#{last4}", f"{due_date}#{statement_id}", consistent_read=True)
    except Statement.DoesNotExist:
        return None


# --- messages waiting for their time ----------------------------------------------------


class Pending(_Item):
    event = JSONAttribute()
    reason = UnicodeAttribute()
    due_at = UTCDateTimeAttribute()


def park(event: dict, due_at: datetime, reason: str) -> None:
    """Keep an event until `due_at` (quiet hours, spent quota, long outages). Parking the
    same event twice for the same time is one item."""
    Pending("PENDING", f"{clock.iso(due_at)}#{event['id']}", event=event, reason=reason, due_at=due_at).save()


def due_pending(now: datetime, limit: int) -> list[Pending]:
    return list(Pending.query("PENDING", Pending.sk <= f"{clock.iso(now)}#\uffff", limit=limit))


def all_pending() -> list[Pending]:
    return list(Pending.query("PENDING"))


def unpark(item: Pending) -> None:
    item.delete()

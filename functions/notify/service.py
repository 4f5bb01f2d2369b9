"""notify's rules, in plain Python: who hears about an event, on which channel, and when;
the bill reminders of a day; what a card binding accepts. Thresholds and hours come from the
function's settings (`Policy.from_settings`)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from functions.common import clock, otp
from functions.common.config import Settings

# Sent at once, day or night: security alerts, and the confirmation of what the customer
# has just done (a booking made, moved or cancelled; an application sent or withdrawn; a
# wealth order placed or cancelled). Reminders and notices (bills, a decision on an
# application, core banking's answer to an order) wait for the end of quiet hours.
AT_ONCE = frozenset({"card_transaction", "booking_confirmed", "booking_rescheduled", "booking_cancelled"})
CUSTOMERS_OWN_LOAN_STEPS = frozenset({"SUBMITTED", "WITHDRAWN"})
CUSTOMERS_OWN_ORDER_STEPS = frozenset({"PENDING", "CANCELLED"})  # a wealth order placed or cancelled
# Events about a core-banking customer (reach them through their bindings, SMS as a fallback);
# the others name the openid to tell.
CUSTOMER_EVENTS = frozenset({"card_transaction", "statement_issued", "payment_received", "bill_reminder"})
# Notify's own event, made by the bill schedule; never accepted from the queue.
INTERNAL_SCHEMAS: dict[str, tuple[str, ...]] = {
    "bill_reminder": ("customer_id", "card_last4", "statement_id", "due_date", "days_left"),
}
REMINDER_DAYS = (3, 0)


@dataclass(frozen=True)
class Policy:
    sms_min_fen: int = 30000
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    # how long an uncertain template send waits for WeChat's delivery report (delivery.py)
    reconcile_after: timedelta = timedelta(minutes=10)

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            sms_min_fen=settings.notify_sms_min_fen,
            quiet_start=settings.notify_quiet_start,
            quiet_end=settings.notify_quiet_end,
            reconcile_after=timedelta(seconds=settings.notify_reconcile_s),
        )

    def quiet_until(self, now: datetime) -> datetime | None:
        """End of the quiet period `now` falls in (UTC), or None in the daytime."""
        return clock.quiet_until(now, self.quiet_start, self.quiet_end)

    def sms_too(self, data: dict[str, Any]) -> bool:
        """A card payment worth an SMS besides the WeChat message."""
        return (abs(int(data["amount_fen"])) >= self.sms_min_fen or bool(data.get("cross_border"))
                or not data.get("card_present", True))


@dataclass
class Plan:
    """What to do with one event: template message to `openids`; SMS `always`, as a
    `fallback` when no template message got through, or `never`; or wait until `wait_until`."""

    template: str
    openids: list[str] = field(default_factory=list)
    sms: str = "never"
    wait_until: datetime | None = None


def at_once(event: dict[str, Any]) -> bool:
    """Whether quiet hours leave this event alone."""
    kind = event["type"]
    return kind in AT_ONCE or (kind == "loan_status_changed"
                               and event["data"].get("status") in CUSTOMERS_OWN_LOAN_STEPS) or (
        kind == "wealth_order_changed" and event["data"].get("state") in CUSTOMERS_OWN_ORDER_STEPS)


def recipient(event: dict[str, Any]) -> str:
    """Whom an event is about (an openid, or a core-banking customer), so that one person's
    held messages go out in the order they happened."""
    data = event["data"]
    return str(data.get("openid") or data.get("customer_id") or "")


def plan(event: dict[str, Any], active_openids: list[str], now: datetime, policy: Policy) -> Plan:
    kind, data = event["type"], event["data"]
    if not at_once(event):
        wait = policy.quiet_until(now)
        if wait is not None:
            return Plan(kind, wait_until=wait)
    if kind not in CUSTOMER_EVENTS:
        return Plan(kind, openids=[data["openid"]])
    openids = sorted(set(active_openids))
    if not openids:
        return Plan(kind, sms="always")
    if kind == "card_transaction" and policy.sms_too(data):
        return Plan(kind, openids=openids, sms="always")
    return Plan(kind, openids=openids, sms="fallback")


def reminder_dates(today: date) -> dict[str, int]:
    """Due dates to remind about today, with the days left for each."""
    return {(today + timedelta(days=days)).isoformat(): days for days in REMINDER_DAYS}


def bill_reminder(customer_id: str, card_last4: str, statement_id: str, due_date: str, days_left: int,
                  now: datetime) -> dict[str, Any]:
    """The reminder of one statement on one day; its id makes it once per statement and day."""
    return {
        "v": 1, "type": "bill_reminder", "source": "notify", "occurred_at": clock.iso(now),
        "id": f"bill-{customer_id}-{card_last4}-{statement_id}-d{days_left}",
        "data": {"customer_id": customer_id, "card_last4": card_last4, "statement_id": statement_id,
                 "due_date": due_date, "days_left": days_left},
    }


def validate_internal(event: dict[str, Any]) -> None:
    missing = [k for k in INTERNAL_SCHEMAS[event["type"]] if k not in event.get("data", {})]
    if missing:
        raise ValueError(f"{event['type']}: missing {', '.join(missing)}")


def backoff_s(receive_count: int, base_s: int = 10, cap_s: int = 900) -> int:
    """Visibility delay before the next try of a message received `receive_count` times."""
    return min(cap_s, base_s * 2 ** max(0, receive_count - 1))


_REPORT_MSGID = re.compile(r"[0-9]{1,20}")


def is_delivery_report(msgid: str, status: str) -> bool:
    """What WeChat sends in TEMPLATESENDJOBFINISH: a numeric 64-bit MsgID and a status of
    `success` or `failed:...`. Anything else is not a report and is not kept."""
    return (bool(_REPORT_MSGID.fullmatch(msgid or "")) and int(msgid) < 2**64
            and isinstance(status, str) and len(status) <= 64 and status.startswith(("success", "failed")))


# ---- card binding --------------------------------------------------------------------------
# One-time codes follow the shared rules (functions/common/otp.py); requests are
# rate-limited per mobile number and per openid whether or not the card matches, so the form
# cannot be used to probe which card belongs to which number.

# (scope, limit, window seconds)
PHONE_LIMITS = (("phone-min", 1, otp.RESEND_S), ("phone-hour", 5, 3600))
OPENID_LIMITS = (("openid-day", otp.PER_OPENID_DAY, 86400),)


def card_number(value: str) -> str | None:
    """A bank card number as typed (spaces allowed): 13 to 19 digits with a good Luhn digit."""
    from stdnum import luhn

    card = "".join(ch for ch in str(value or "") if not ch.isspace())
    return card if card.isdigit() and 13 <= len(card) <= 19 and luhn.is_valid(card) else None


def mainland_mobile(value: str) -> str | None:
    """A mainland China mobile number as 11 national digits, or None."""
    import phonenumbers

    try:
        number = phonenumbers.parse(str(value or ""), "CN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
        return None
    return str(number.national_number)

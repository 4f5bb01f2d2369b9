"""What a customer can do with notify, and its scheduled work: bind a bank card (the card
number and the mobile number on file, then a one-time code by SMS), read back bills and
messages, remind unpaid bills, and send the messages that waited for their time.

Only a bound card's last four digits and its keyed hash are kept. A waiting message is an
item in notify's table with its due time (quiet hours, WeChat's quota, a long outage, or
the delivery report of a send that timed out); every few minutes the pending schedule sends
those that are due, through the same `delivery.process` as the queue, so the exactly-once
records apply the same way.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.common import clock, config, events, otp, pii, session
from functions.common.errors import (
    ApiError,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Validator,
)
from functions.common.log import get_logger
from functions.common.money import yuan
from functions.common.once import ModuleOnFirstUse
from functions.notify import service, store

if TYPE_CHECKING:
    from functions.notify import corebank, delivery, sms
else:  # the card check, the SMS and the sends load with the first answer that uses them
    corebank = ModuleOnFirstUse("functions.notify.corebank")
    delivery = ModuleOnFirstUse("functions.notify.delivery")
    sms = ModuleOnFirstUse("functions.notify.sms")

logger = get_logger()

HISTORY_DAYS = 30
WORKERS = 10
FLUSH_LIMIT = 500
RETRY_IN = timedelta(minutes=5)
STATUS_TEXT = {
    store.SENT: "已发送", store.CLAIMED: "发送中", store.RETRY: "待重试",
    store.UNREACHABLE: "未送达", store.REJECTED: "发送失败",
    store.UNCERTAIN: "发送中", store.UNCONFIRMED: "未确认",
    # TEMPLATESENDJOBFINISH statuses
    "success": "已送达", "failed:user block": "已拒收", "failed: system failed": "发送失败",
}


# ----- binding a card ----------------------------------------------------------------------

def request_code(openid: str, card_number: str, phone: str) -> dict[str, Any]:
    """Check the card and the mobile on file and text a one-time code to it."""
    card, mobile = service.card_number(card_number), service.mainland_mobile(phone)
    check = Validator()
    if card is None:
        check.add("card_number", "invalid_card", "请输入正确的银行卡号")
    if mobile is None:
        check.add("phone", "invalid_phone", "请输入正确的手机号码")
    check.check()
    assert card is not None and mobile is not None
    phone_key = corebank.phone_hash(mobile)
    for scope, limit, window in service.PHONE_LIMITS:
        if not store.take(scope, phone_key, limit, window):
            raise TooManyRequests("otp_rate_limited", "验证码发送过于频繁，请稍后再试")
    for scope, limit, window in service.OPENID_LIMITS:
        if not store.take(scope, openid, limit, window):
            raise TooManyRequests("otp_rate_limited", "今日获取验证码次数过多，请明天再试")
    found = corebank.find_card(corebank.card_hash(card))
    if found is None or corebank.phone_hash_of(found.customer_id) != phone_key:
        raise ApiError(400, "card_phone_mismatch", "卡号与预留手机号不匹配")
    code = otp.new_code()
    store.save_otp(openid, otp.code_hash(openid, code), found, pii.mask_phone(mobile), otp.TTL_S)
    sign = config.settings().notify_sms_sign
    text = f"{sign}验证码{code}，5分钟内有效，用于绑定卡号{pii.mask_card(found.last4)}的银行卡，请勿告诉他人。"
    try:
        sms.send(mobile, sms.Sms("otp", {"code": code, "last4": found.last4}, text))
    except sms.SmsRefused:
        raise ApiError(400, "sms_refused", "该手机号暂时无法接收短信，请联系客服") from None
    except sms.SmsRetry:
        raise ServiceUnavailable("短信发送失败，请稍后再试") from None
    return {"card": pii.mask_card(found.last4), "phone": pii.mask_phone(mobile), "expires_in": otp.TTL_S,
            "resend_in": otp.RESEND_S}


def confirm(openid: str, code: str) -> dict[str, Any]:
    """Bind the card once the code matches; each attempt spends one of the code's tries. The
    binding is announced before the code is spent: if the announcement fails, the customer's
    retry with the same code binds and announces again."""
    stored = store.get_otp(openid)
    otp.verify(stored, openid, code, lambda found: store.spend_try(found, otp.TRIES),
               lambda: store.delete_otp(openid))
    assert stored is not None
    binding = store.bind(openid, stored.customer_id, stored.card_hash, stored.card_last4)
    _announce("card_bound", binding, binding.bound_at, card_kind=stored.card_kind, phone_masked=stored.phone_masked)
    store.delete_otp(openid)
    return view(binding)


def _announce(event_type: str, binding: store.Binding, at: datetime, **facts: str) -> None:
    ref, when = corebank.card_ref(binding.openid, binding.card_hash), clock.iso(at)
    events.announce(event_type, {"openid": binding.openid, "card_ref": ref, "card_last4": binding.card_last4,
                                 "at": when, **facts}, "notify", events.card_event_id(event_type, ref, when))


def unbind(openid: str, binding_id: str) -> None:
    """Remove a binding. Its end is announced first: a failed announcement leaves the card
    bound here, and the customer's retry announces it again; never a card that other features
    still take for bound when notify has let it go."""
    held = store.bindings_of(openid)
    for binding in held:
        if binding_id and view(binding)["id"] == binding_id:
            _announce("card_unbound", binding, clock.now())
            store.unbind(openid, binding.card_hash)
            if len(held) == 1:  # the last card: the customer's sessions end with it
                session.end_all(openid)
            return
    raise NotFound("未找到该绑定卡")


def bindings(openid: str) -> list[dict[str, Any]]:
    return [view(b) for b in store.bindings_of(openid)]


def view(binding: store.Binding) -> dict[str, Any]:
    return {"id": binding.card_hash[:16], "card": pii.mask_card(binding.card_last4), "last4": binding.card_last4,
            "active": binding.active, "bound_at": clock.show_time(binding.bound_at)}


# ----- reading back: bills and messages ----------------------------------------------------

def bills(openid: str) -> list[dict[str, Any]]:
    """The latest statement of each card bound to `openid` (cards without one included)."""
    out = []
    for binding in store.bindings_of(openid):
        statement = store.latest_statement(binding.customer_id, binding.card_last4)
        row: dict[str, Any] = {"card": pii.mask_card(binding.card_last4), "active": binding.active, "statement": None}
        if statement is not None:
            row["statement"] = {
                "statement_id": statement.statement_id,
                "amount_due": yuan(int(statement.amount_due_fen)),
                "minimum_due": yuan(int(statement.minimum_due_fen)),
                "remaining": yuan(statement.remaining_fen),
                "due_date": statement.due_date,
                "due_label": clock.show_date(date.fromisoformat(statement.due_date)),
                "paid": statement.remaining_fen == 0,
            }
        out.append(row)
    return out


def messages(openid: str) -> list[dict[str, Any]]:
    """WeChat messages to `openid` in the last 30 days, newest first."""
    since = clock.now() - timedelta(days=HISTORY_DAYS)
    out = []
    for item in store.inbox(openid, since):
        status = item.final_status or item.status
        out.append({
            "title": item.title or "",
            "summary": "，".join((item.values or {}).values()),
            "values": list((item.values or {}).values()),
            "time": clock.show_time(item.created_at) if item.created_at else "",
            "status": STATUS_TEXT.get(status, "发送失败"),
            "url": item.url,
        })
    return out


# ----- scheduled: bill reminders and waiting messages --------------------------------------

def send_bill_reminders() -> dict[str, int]:
    """10:00 Asia/Shanghai: remind every unpaid statement due today or in three days (once
    per statement and day)."""
    today = clock.local().date()
    reminders = [
        service.bill_reminder(s.customer_id, s.card_last4, s.statement_id, due_date, days_left, clock.now())
        for due_date, days_left in service.reminder_dates(today).items()
        for s in store.unpaid_due_on(due_date)
    ]
    return {"reminders": len(reminders), **_run([(reminder, None) for reminder in reminders])}


def flush_pending(limit: int = FLUSH_LIMIT) -> dict[str, int]:
    """Process the waiting messages whose time has come."""
    items = store.due_pending(clock.now(), limit)
    return {"due": len(items), **_run([(item.event, item) for item in items])}


def _run(batch: list[tuple[dict[str, Any], store.Pending | None]]) -> dict[str, int]:
    """One person's messages one after another, in the order they happened (a cancellation
    never overtakes its booking); different people's side by side."""
    from concurrent.futures import ThreadPoolExecutor  # the schedules' only: not on an intent's or a page's path

    queues: dict[str, list[tuple[dict[str, Any], store.Pending | None]]] = {}
    for event, parked in sorted(batch, key=lambda pair: (pair[0].get("occurred_at") or "", pair[0]["id"])):
        queues.setdefault(service.recipient(event), []).append((event, parked))
    counts: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for outcomes in pool.map(lambda queue: [_one(event, parked) for event, parked in queue], queues.values()):
            for outcome in outcomes:
                counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _one(event: dict[str, Any], parked: store.Pending | None) -> str:
    if event["type"] in service.INTERNAL_SCHEMAS:
        service.validate_internal(event)
    try:
        outcome = delivery.process(event)
    except Exception:  # noqa: BLE001 - keep it for the next run
        logger.exception("pending message failed", extra={"event_id": event["id"]})
        outcome = delivery.RETRY
    if outcome in (delivery.RETRY, delivery.BUSY):
        store.park(event, clock.now() + RETRY_IN, outcome)
    if parked is not None:
        store.unpark(parked)
    return outcome

"""Applying one event: store what it says (statements, payments), decide who hears about it
(service.plan) and deliver each (event id, recipient) exactly once.

Every delivery is claimed first with a conditional write (store.claim); only the holder of
a live claim sends, and it records the msgid when WeChat accepts. A redelivered or concurrent
copy of the event finds the delivery sent (nothing to do) or claimed (try again later). A claim
whose holder died is taken over once its lease has run out; the lease outlasts the function's
timeout, so a live sender is never overtaken. A send that timed out after reaching WeChat
is neither retried nor dropped: it waits for WeChat's delivery report, as follows.

Template sends whose answer timed out: delivered or not? WeChat's template API takes no
idempotency key, and a send whose request reached WeChat but whose answer came too late
(WeChatUncertain, from the shared client) may well have been delivered. Sending it again at
once, as for -1 or a refused connection, would show it twice. Instead:

1. The delivery is marked `uncertain` with its send time; nobody sends it for the
   reconciliation window (setting NOTIFY_RECONCILE_S, 10 minutes), and the event waits in the
   pending store until the window ends.
2. WeChat reports the fate of every template message it accepted (TEMPLATESENDJOBFINISH,
   with MsgID and openid; the webhook hands it to notify's intent). A report whose msgid no
   delivery knows is kept under its openid (store.report), whenever it comes: it can come
   before our time-out fires.
3. When the window ends (the pending schedule, or a redelivered copy of the event), the
   claim's new holder looks for a kept report for the same openid that came after the
   send, whose msgid is still unknown to every delivery and that no other delivery has
   taken. Found: the message was delivered; the delivery is settled `sent` with that msgid
   and status, and nothing is sent. Not found: it was not delivered, and it is sent again.
4. That resend is the only one: if it times out too and again no report comes, the delivery
   ends `unconfirmed` (logged as an error; the event's SMS fallback applies) rather than
   risk a third copy.

Matching when the window ends, not when the report comes, leaves time for every send that
was in flight to the same openid to record its own msgid first, so a report is not taken
for another's. What remains, in theory:
- a report that never reaches us (WeChat gives up pushing, our webhook is down for the
  whole window): the message is sent twice;
- a report for a template message sent to the openid by something other than this function
  (another system on the same official account), or by a notify sender that died between
  WeChat's answer and recording the msgid, arriving in the window of an undelivered
  uncertain send: that send is wrongly counted as delivered, and is lost;
- two uncertain sends to one openid in one window of which only the later was delivered:
  the earlier may take the later's report (reports carry no content), one is lost and the
  other sent twice.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from functions.common import clock, config, events, pii, urls
from functions.common.log import get_logger
from functions.common.wechat import errors as wx
from functions.notify import corebank, service, sms, store
from functions.notify.templates import TEMPLATES, Template, render, sms_text

logger = get_logger()

LEASE_S = 180          # > notifyEvents timeout: a live claim is never taken over
QUOTA_WAIT = timedelta(minutes=30)
MAX_UNCERTAIN_SENDS = 2  # the first send and its one resend

# Outcomes of one event
DONE, RETRY, BUSY, PARKED = "done", "retry", "busy", "parked"
QUOTA = "quota"        # a send hit WeChat's quota (45009)
UNCERTAIN = store.UNCERTAIN  # a send may have been delivered; recheck it when its window ends

_URLS = {"statement_issued": "/notify/bills", "bill_reminder": "/notify/bills", "payment_received": "/notify/bills"}


ALERT_LINE = "operator alert"  # infra/resources/operations.yml's metric filter matches this message


def _alert(event: dict[str, Any]) -> None:
    """An alert for operators: one structured log line (`alert` names it; the log group's
    metric filter alarms on it, docs/runbook.md), and nothing sent to anyone."""
    logger.error(ALERT_LINE, extra={"alert": event["type"], "event_id": event["id"],
                                          "occurred_at": event.get("occurred_at"), **event["data"]})


def process(event: dict[str, Any], policy: service.Policy | None = None,
            listening: dict[tuple[str, str], list[str]] | None = None) -> str:
    """Apply a valid event once more; safe to repeat. Returns DONE, RETRY (a transient
    failure: try again with backoff), BUSY (another consumer is sending it) or PARKED (kept in
    the pending store until its time: quiet hours, spent quota, or an uncertain send's
    reconciliation window). `listening`: the openids bound to the event's card, when the
    caller read them already (store.listening, for a whole batch)."""
    if event["type"] in events.ALERTS:
        _alert(event)
        return DONE
    if event["type"] == "stepup_code_requested":
        return _send_stepup_code(event)
    policy = policy or service.Policy.from_settings(config.settings())
    kind, data = event["type"], event["data"]
    facts = {**data, "occurred_at": event.get("occurred_at") or clock.iso(clock.now())}
    if not _record(event, facts):
        return DONE
    active: list[str] = []
    if kind in service.CUSTOMER_EVENTS:
        card = (data["customer_id"], data["card_last4"])
        active = (listening if listening and card in listening else store.listening([card]))[card]
    plan = service.plan(event, active, clock.now(), policy)
    if plan.wait_until is not None:
        store.park(event, plan.wait_until, "quiet_hours")
        return PARKED
    template = TEMPLATES[plan.template]
    values = render(template, facts)
    url = _url(kind, data)
    sends = [_send_wechat(event, template, values, url, openid, policy) for openid in plan.openids]
    results = [result for result, _ in sends]
    # when the last uncertain send's window ends (a time from the delivery, so that every
    # copy of the event parks it as the same pending item)
    recheck = max((at for result, at in sends if result == UNCERTAIN and at is not None), default=None)
    if QUOTA in results:
        store.park(event, max(clock.now() + QUOTA_WAIT, recheck or clock.now()), "quota")
        return PARKED
    settled = all(r in store.DONE for r in results)
    if plan.sms == "always" or (plan.sms == "fallback" and settled and store.SENT not in results):
        results.append(_send_sms(event, template, values, data["customer_id"]))
    if recheck is not None:
        store.park(event, recheck, "uncertain")
    if BUSY in results:
        return BUSY
    if RETRY in results:
        return RETRY
    return PARKED if recheck is not None else DONE


def _record(event: dict[str, Any], facts: dict[str, Any]) -> bool:
    """Store what the event says; False when there is nothing left to tell."""
    kind, data = event["type"], event["data"]
    if kind == "statement_issued":
        store.save_statement(data["customer_id"], data["card_last4"], data["statement_id"],
                             int(data["amount_due_fen"]), int(data["minimum_due_fen"]), data["due_date"])
    elif kind == "payment_received":
        statement = store.find_statement(data["customer_id"], data["card_last4"], data["statement_id"])
        if statement is None:
            logger.warning("payment for an unknown statement", extra={"event_id": event["id"]})
        else:
            store.apply_payment(statement, event["id"], int(data["amount_fen"]))
    elif kind == "booking_reminder":
        cancelled = events.booking_event_id("booking_cancelled", data["booking_id"])
        if store.get_delivery(cancelled, "wx", data["openid"]) is not None:  # held overnight, cancelled since
            return False
    elif kind == "bill_reminder":
        statement = store.get_statement(data["customer_id"], data["card_last4"], data["due_date"],
                                        data["statement_id"])
        if statement is None or statement.remaining_fen == 0:
            return False
        facts["remaining_fen"] = statement.remaining_fen
    return True


def _url(kind: str, data: dict[str, Any]) -> str | None:
    path = _URLS.get(kind) or data.get("url")
    if not path or not str(path).startswith("/"):
        return None
    return urls.absolute(str(path))


@store.settling()
def _send_wechat(event: dict, template: Template, values: dict[str, str], url: str | None, openid: str,
                 policy: service.Policy) -> tuple[str, datetime | None]:
    """Send one template message unless done; returns the outcome and, for an uncertain
    send, when its reconciliation window ends."""
    state, item = store.claim(event["id"], event["type"], "wx", openid, uuid.uuid4().hex, LEASE_S,
                              template.title, values, url)
    if state == UNCERTAIN:
        return UNCERTAIN, item.recheck_at
    if state != store.CLAIMED:
        return (item.status if state == "done" else BUSY), None
    if item.uncertain_at is not None:  # an earlier send timed out; its window is over
        if settle_from_report(item):
            return store.SENT, None
        if give_up(item):
            return store.UNCONFIRMED, None
    result = _send_template(event, template, values, url, item, policy)
    return result, item.recheck_at if result == UNCERTAIN else None


def _send_template(event: dict, template: Template, values: dict[str, str], url: str | None,
                   item: store.Delivery, policy: service.Policy) -> str:
    from functions.common.wechat.client import get_client

    started = clock.now()
    try:
        msgid = get_client().send_template(item.recipient, template.template_id, values, url)
    except wx.WeChatUncertain as error:
        logger.warning("template message timed out; waiting for its delivery report",
                       extra={"event_id": event["id"], "error": str(error)})
        store.mark_uncertain(item, started, policy.reconcile_after, error=f"timed out: {error}")
        return UNCERTAIN
    except wx.WeChatQuotaExceeded as error:
        store.settle(item, store.RETRY, error=str(error))
        return QUOTA
    except wx.WeChatUserUnreachable as error:
        store.settle(item, store.UNREACHABLE, error=str(error))
        return store.UNREACHABLE
    except wx.WeChatRejected as error:
        logger.error("template message rejected", extra={"event_id": event["id"], "error": str(error)})
        store.settle(item, store.REJECTED, error=str(error))
        return store.REJECTED
    except Exception as error:  # noqa: BLE001 - -1, refused connections, tokens: worth another try
        logger.warning("template message failed", extra={"event_id": event["id"], "error": repr(error)[:200]})
        store.settle(item, store.RETRY, error=repr(error))
        return RETRY
    store.settle(item, store.SENT, msgid=str(msgid))
    return store.SENT


def _send_sms(event: dict, template: Template, values: dict[str, str], customer_id: str) -> str:
    return _text(event, customer_id, template.title, values,
                 sms.Sms(template.key, values, sms_text(template, values)))


@store.settling()
def _text(event: dict, customer_id: str, title: str, kept: dict[str, str], message: sms.Sms) -> str:
    """Text the customer's mobile number on file once per event; `kept` is what the delivery
    record keeps of the message."""
    state, item = store.claim(event["id"], event["type"], "sms", customer_id, uuid.uuid4().hex, LEASE_S,
                              title, kept, None)
    if state != store.CLAIMED:
        return item.status if state == "done" else BUSY
    phone = corebank.phone_of(customer_id)
    if not phone:
        store.settle(item, store.REJECTED, error="no mobile number on file")
        return store.REJECTED
    try:
        message_id = sms.send(phone, message)
    except sms.SmsRefused as error:  # this number will never get it: recorded, not retried
        store.settle(item, store.REJECTED, error=str(error))
        return store.REJECTED
    except sms.SmsRetry as error:
        store.settle(item, store.RETRY, error=str(error))
        return RETRY
    store.settle(item, store.SENT, msgid=f"sms:{message_id}")
    return store.SENT


STEPUP_PURPOSES = {"purchase": "确认理财产品购买"}


def _send_stepup_code(event: dict[str, Any]) -> str:
    """A step-up code products asked for: texted to the mobile number on file of the card the
    openid has bound under `card_ref`, once, while it is valid. Nothing else is done: no
    binding of that openid under that reference (another's card, a card unbound since), or an
    expired code, and nothing is sent. The code is never logged nor kept (the delivery keeps
    only that a code went out)."""
    data = event["data"]
    if int(data["expires_at"]) <= clock.epoch():
        logger.info("step-up code expired before it was sent", extra={"event_id": event["id"]})
        return DONE
    binding = next((b for b in store.bindings_of(str(data["openid"]))
                    if b.active and corebank.card_ref(b.openid, b.card_hash) == data["card_ref"]), None)
    if binding is None:
        logger.warning("step-up code for a card the openid has not bound", extra={"event_id": event["id"]})
        return DONE
    code, purpose = str(data["code"]), STEPUP_PURPOSES.get(str(data["purpose"]), "身份验证")
    text = (f"{config.settings().notify_sms_sign}验证码{code}，5分钟内有效，用于{purpose}"
            f"（卡号{pii.mask_card(binding.card_last4)}），请勿告诉他人。")
    outcome = _text(event, binding.customer_id, "验证码", {}, sms.Sms("stepup", {"code": code}, text))
    return outcome if outcome in (RETRY, BUSY) else DONE


# ----- sends that timed out ----------------------------------------------------------------

def settle_from_report(item: store.Delivery) -> bool:
    """For the holder of a claim on a delivery that had an uncertain send: settle it from a
    kept delivery report when there is one (True), or leave it to be sent (False)."""
    taker = f"{item.pk}|{item.sk}"
    reports = store.kept_reports(item.recipient, item.uncertain_at)
    reports.sort(key=lambda r: r.taken_by != taker)  # one this delivery took before it died
    for report in reports:
        if report.taken_by not in (None, taker) or store.msgid_known(report.msgid):
            continue
        if store.take_report(report, taker):
            store.settle(item, store.SENT, msgid=report.msgid, final_status=report.status)
            return True
    return False


def give_up(item: store.Delivery) -> bool:
    """Settle a delivery whose resend was uncertain too as `unconfirmed` (True), so it is
    never sent a third time; False when it may still be sent."""
    if (item.uncertain_sends or 0) < MAX_UNCERTAIN_SENDS:
        return False
    logger.error("template message unconfirmed after its resend", extra={"event_id": item.event_id})
    store.settle(item, store.UNCONFIRMED, error="timed out twice, no delivery report")
    return True

"""Template sends whose answer timed out: delivered or not?

WeChat's template API takes no idempotency key, and a send whose request reached WeChat but
whose answer came too late (WeChatUncertain, from the shared client) may well have been delivered. Sending it
again at once, as for -1 or a refused connection, would show it twice. Instead:

1. The delivery is marked `uncertain` with its send time; nobody sends it for the
   reconciliation window (`NOTIFY_RECONCILE_S`, 10 minutes), and the event waits in the
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

from functions.common.log import get_logger
from functions.notify import store

logger = get_logger()

MAX_UNCERTAIN_SENDS = 2  # the first send and its one resend


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

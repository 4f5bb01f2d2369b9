"""Scheduled work: bill reminders (10:00 Asia/Shanghai) and the pending store (messages
that waited for the end of quiet hours, for WeChat's quota, out a long outage, or for the
delivery report of a send that timed out: see reconcile.py).

A waiting message is an item in notify's table with its due time; every few minutes the
pending schedule processes those that are due, through the same `delivery.process` as the
queue, so the exactly-once records apply the same way.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from functions.common import clock
from functions.common.log import get_logger
from functions.notify import delivery, service, store

logger = get_logger()

WORKERS = 10
FLUSH_LIMIT = 500
RETRY_IN = timedelta(minutes=5)


def bill_reminders() -> dict[str, int]:
    """Remind every unpaid statement due today or in three days (once per statement and day)."""
    today = clock.local().date()
    reminders = []
    for due_date, days_left in service.reminder_dates(today).items():
        for statement in store.unpaid_due_on(due_date):
            reminders.append({
                "v": 1, "type": "bill_reminder", "source": "notify", "occurred_at": clock.iso(clock.now()),
                "id": f"bill-{statement.customer_id}-{statement.card_last4}-{statement.statement_id}-d{days_left}",
                "data": {"customer_id": statement.customer_id, "card_last4": statement.card_last4,
                         "statement_id": statement.statement_id, "due_date": due_date, "days_left": days_left},
            })
    outcomes = _run(reminders)
    return {"reminders": len(reminders), **outcomes}


def flush_pending(limit: int = FLUSH_LIMIT) -> dict[str, int]:
    """Process the waiting messages whose time has come."""
    items = store.due_pending(clock.now(), limit)
    outcomes = _run([item.event for item in items], items)
    return {"due": len(items), **outcomes}


def _run(batch: list[dict[str, Any]], parked: list[store.Pending] | None = None) -> dict[str, int]:
    counts: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for outcome in pool.map(_one, batch, parked or [None] * len(batch)):
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

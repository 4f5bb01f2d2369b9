"""Events on the notify queue: typed, versioned, published by booking, loan_apply, products
and core banking, consumed by notify; and events on the customer-events topic, published by
notify, each consumer reading them from a queue of its own. This module is the contract both
sides read.

Envelope: {"v": 1, "id": <unique>, "type": <type>, "source": <producer>,
           "occurred_at": <ISO-8601 UTC>, "data": {...}}
`id` is the idempotency key of the event: notify delivers each (event id, openid) once.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

from functions.common import aws, clock, config

VERSION = 1

# Required keys of `data` for each event type. Money in fen, times ISO-8601 UTC.
SCHEMAS: dict[str, tuple[str, ...]] = {
    # core banking
    "card_transaction": (
        "customer_id", "card_last4", "amount_fen", "currency", "merchant",
        "cross_border", "card_present", "txn_time",
    ),
    "statement_issued": (
        "customer_id", "card_last4", "statement_id", "amount_due_fen", "minimum_due_fen", "due_date",
    ),
    "payment_received": ("customer_id", "card_last4", "statement_id", "amount_fen"),
    # booking
    "booking_confirmed": ("openid", "booking_id", "branch_name", "service", "slot_start", "manager"),
    "booking_cancelled": ("openid", "booking_id", "branch_name", "service", "slot_start"),
    "booking_rescheduled": ("openid", "booking_id", "branch_name", "service", "slot_start", "manager"),
    "booking_reminder": ("openid", "booking_id", "branch_name", "service", "slot_start"),
    # loan_apply
    "loan_status_changed": ("openid", "application_id", "product", "status", "reason"),
    # products: a wealth order placed or changed (state PENDING | CONFIRMED | FAILED | CANCELLED;
    # kind purchase | redemption); its id is one per order and state
    "wealth_order_changed": ("openid", "order_id", "kind", "product", "amount_fen", "state", "reason"),
    # products: a step-up code for a purchase, to text to the mobile number on file of the card
    # `card_ref` names (notify alone knows it); the code is never logged (docs/security.md)
    "stepup_code_requested": ("openid", "card_ref", "code", "purpose", "expires_at"),
    # the back office: a member of staff went past the hour's decrypted reads (an alert for
    # operators, never a message to anyone; its id is one per member and hour)
    "staff_read_limit_exceeded": ("subject", "role", "limit", "window_start", "source"),
}
# Events on the customer-events topic (SNS, one queue per consuming feature): a card bound
# or unbound. `card_ref` names the binding (a keyed hash of the openid and the card, never the
# number; another openid's binding of the same card has another), `card_kind` is debit or
# credit, `phone_masked` the mobile number on file masked (pii.mask_phone), `at` when the change
# happened (ISO-8601 UTC: a consumer keeps the newest change of each card, whatever the order).
CUSTOMER_SCHEMAS: dict[str, tuple[str, ...]] = {
    "card_bound": ("openid", "card_ref", "card_last4", "card_kind", "phone_masked", "at"),
    "card_unbound": ("openid", "card_ref", "card_last4", "at"),
}
CARD_KINDS = ("debit", "credit")
# Events that raise an alert for operators (notify logs them; nothing is sent to anyone).
ALERTS = frozenset({"staff_read_limit_exceeded"})


def booking_event_id(event_type: str, booking_id: str, suffix: str = "") -> str:
    """The id of an event about a booking: derived from the change, so a retried request
    publishes the same event; notify finds a booking's cancellation by it."""
    return f"{event_type}:{booking_id}:{suffix}".rstrip(":")


class InvalidEvent(ValueError):
    """The event breaks the contract; its reason goes with it to the dead-letter queue."""


def card_event_id(event_type: str, card_ref: str, at: str) -> str:
    """The id of a card's change: a retried publish of the same change is the same event."""
    return f"{event_type}:{card_ref}:{at}"


def make(event_type: str, data: dict[str, Any], source: str, event_id: str | None = None,
         schemas: dict[str, tuple[str, ...]] = SCHEMAS) -> dict[str, Any]:
    event = {
        "v": VERSION,
        "id": event_id or uuid.uuid4().hex,
        "type": event_type,
        "source": source,
        "occurred_at": clock.iso(clock.now()),
        "data": data,
    }
    validate(event, schemas)
    return event


def validate(event: Any, schemas: dict[str, tuple[str, ...]] = SCHEMAS) -> dict[str, Any]:
    """Check an event against the contract; raises InvalidEvent with the reason."""
    if not isinstance(event, dict):
        raise InvalidEvent("event is not a JSON object")
    if event.get("v") != VERSION:
        raise InvalidEvent(f"unsupported version {event.get('v')!r}")
    if not isinstance(event.get("id"), str) or not event["id"]:
        raise InvalidEvent("missing id")
    schema = schemas.get(event.get("type"))  # type: ignore[arg-type]
    if schema is None:
        raise InvalidEvent(f"unknown type {event.get('type')!r}")
    data = event.get("data")
    if not isinstance(data, dict):
        raise InvalidEvent("data is not an object")
    missing = [k for k in schema if k not in data]
    if missing:
        raise InvalidEvent(f"{event['type']}: missing {', '.join(missing)}")
    return event


def publish(event_type: str, data: dict[str, Any], source: str, event_id: str | None = None) -> dict:
    """Put one event on the notify queue. `event_id` makes a retried publish idempotent."""
    event = make(event_type, data, source, event_id)
    aws.client("sqs").send_message(QueueUrl=config.settings().notify_queue_url, MessageBody=json.dumps(event))
    return event


def announce(event_type: str, data: dict[str, Any], source: str, event_id: str) -> dict:
    """Publish one event on the customer-events topic (every subscribed feature's queue gets
    it); `event_id` is derived from the change, so a retried publish is one event."""
    event = make(event_type, data, source, event_id, CUSTOMER_SCHEMAS)
    aws.client("sns").publish(TopicArn=config.settings().customer_events_topic_arn, Message=json.dumps(event))
    return event

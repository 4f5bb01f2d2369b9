"""The notify queue's consumer: Powertools batch processing with partial failures, records
of a batch handled concurrently.

Per record:
- malformed or unknown event: sent to the dead-letter queue at once with its reason
  (common/deadletter.py) and reported as processed.
- transient failure: reported failed, and its visibility is set to an exponential backoff
  (ChangeMessageVisibility), so the queue itself holds it until the next try. Past
  PARK_AFTER receives it moves to the pending store instead, before the redrive policy could
  take it to the dead-letter queue: nothing is dropped during a long outage.
- another consumer is sending it: reported failed, back when that claim's lease allows.
- quiet hours or spent quota: kept in the pending store (see actions.flush_pending), reported
  processed.
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.common import aws, clock, config, deadletter, events
from functions.common.log import get_logger
from functions.common.once import build_once
from functions.notify import delivery, service, store

logger = get_logger()

WORKERS = 10            # records of one batch in flight at once (batchSize is 10)
PARK_AFTER = 4          # the queue's redrive policy moves a message to the DLQ at 5 receives
PARK_FOR = timedelta(minutes=15)


class TryLater(Exception):
    """The record failed for now; the queue redelivers it after its visibility timeout."""


class ConcurrentBatchProcessor(BatchProcessor):
    """BatchProcessor whose records are processed by a thread pool: a batch's sends wait on
    WeChat's network round trips together instead of one after another."""

    def process(self) -> list[tuple]:
        return list(_record_workers().map(self._process_record, self.records))


@build_once
def _record_workers() -> ThreadPoolExecutor:
    """The container's record workers, kept between batches: starting ten threads for each
    batch cost more CPU than anything else the handler does besides its requests."""
    return ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="record")


def handle_batch(event: dict, context: Any = None) -> dict:
    processor = ConcurrentBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    handler = partial(handle_record, listening=_listening(event.get("Records") or []))
    return dict(process_partial_response(event=event, record_handler=handler, processor=processor,
                                         context=context))


def _listening(records: list[dict]) -> dict[tuple[str, str], list[str]]:
    """Who is bound to the cards of a batch's customer events, in one read. A record this
    cannot make sense of, or a failed read, is left to the record's own handling."""
    cards = set()
    for record in records:
        try:
            event = json.loads(record["body"])
            if event["type"] in service.CUSTOMER_EVENTS:
                cards.add((event["data"]["customer_id"], event["data"]["card_last4"]))
        except (ValueError, TypeError, KeyError):
            continue
    if not cards:
        return {}
    try:
        return store.listening(list(cards))
    except Exception as error:  # noqa: BLE001 - each record reads its own instead
        logger.warning("could not read a batch's bindings", extra={"error": type(error).__name__})
        return {}


def handle_record(record: SQSRecord, listening: dict[tuple[str, str], list[str]] | None = None) -> str:
    try:
        event = events.validate(json.loads(record.body))
    except (ValueError, events.InvalidEvent) as error:
        reason = str(error) if isinstance(error, events.InvalidEvent) else f"not JSON: {error}"
        dead_letter(record.body, reason, record.message_id)
        return "dead-lettered"
    try:
        outcome = delivery.process(event, listening=listening)
    except (ValueError, TypeError, KeyError) as error:  # valid envelope, unusable data
        dead_letter(record.body, f"unprocessable: {type(error).__name__}: {error}", record.message_id)
        return "dead-lettered"
    if outcome in (delivery.DONE, delivery.PARKED):
        return outcome
    receives = int(record.attributes.approximate_receive_count or 1)
    if outcome == delivery.RETRY and receives >= PARK_AFTER:
        store.park(event, clock.now() + PARK_FOR, "retries")
        return delivery.PARKED
    delay = delivery.LEASE_S if outcome == delivery.BUSY else service.backoff_s(receives)
    _set_visibility(record, delay)
    raise TryLater(f"{event['id']}: {outcome}")


def dead_letter(body: str, reason: str, message_id: str = "") -> None:
    deadletter.send(config.settings().notify_queue_url, body, reason, message_id)


def _set_visibility(record: SQSRecord, seconds: int) -> None:
    try:
        aws.client("sqs").change_message_visibility(
            QueueUrl=config.settings().notify_queue_url, ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=int(seconds),
        )
    except Exception as error:  # noqa: BLE001 - the queue's default visibility still applies
        logger.warning("could not delay a retry", extra={"error": type(error).__name__})

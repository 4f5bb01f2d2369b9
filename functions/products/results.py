"""The products-order-results queue's consumer: core banking's answers to wealth orders,
Powertools batch processing with partial failures (a record that failed for now is logged
with its error and comes back after the queue's visibility timeout; the redrive policy
parks it after five receives). A result that cannot be applied (malformed, an unknown order,
another amount, an order at another end) goes at once to the dead-letter queue with its
reason, for operators to reconcile with core banking; no order changes."""
from __future__ import annotations

import json
import logging
from typing import Any, cast

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.common import config, deadletter
from functions.common.log import get_logger
from functions.products import actions

logger = get_logger()


def handle_batch(event: dict, context: Any = None) -> dict:
    # Powertools' Logger answers the logging.Logger calls the processor makes (warning, exc_info)
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False,
                               logger=cast(logging.Logger, logger))
    return dict(process_partial_response(event=event, record_handler=handle_record, processor=processor,
                                         context=context))


def handle_record(record: SQSRecord) -> str:
    try:
        return actions.apply_result(json.loads(record.body))
    except (ValueError, actions.InvalidResult) as error:
        reason = str(error) if isinstance(error, actions.InvalidResult) else f"not JSON: {error}"
        deadletter.park(config.settings().products_results_dead_letter_url, record.body, reason, record.message_id)
        return "dead-lettered"

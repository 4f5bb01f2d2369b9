"""A queue consumer's dead-letter queue: where an event that breaks its contract goes at
once, with the reason (message attribute `reason`). Retrying cannot mend it, and the queue's
own redrive would move it only after maxReceiveCount receives and without saying why."""
from __future__ import annotations

import json
from functools import lru_cache

from functions.common import aws
from functions.common.log import get_logger

logger = get_logger()


def send(queue_url: str, body: str, reason: str, message_id: str = "") -> None:
    """Park `body`, received from `queue_url`, in that queue's dead-letter queue."""
    park(url_of(queue_url), body, reason, message_id)


def park(dead_letter_url: str, body: str, reason: str, message_id: str = "") -> None:
    """Park `body` in the dead-letter queue at `dead_letter_url`, with the reason."""
    logger.warning("event dead-lettered", extra={"reason": reason, "message_id": message_id})
    aws.client("sqs").send_message(
        QueueUrl=dead_letter_url,
        MessageBody=body,
        MessageAttributes={
            "reason": {"DataType": "String", "StringValue": reason[:1000]},
            "source_message_id": {"DataType": "String", "StringValue": message_id or "-"},
        },
    )


@lru_cache(maxsize=8)
def url_of(queue_url: str) -> str:
    """The queue's own dead-letter queue, from its redrive policy (one definition, in
    infra/resources)."""
    sqs = aws.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    return queue_url_of(json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"])


def queue_url_of(arn: str) -> str:
    """A queue's URL from its ARN (an SQS record names its queue by ARN)."""
    _, _, _, _, account, name = arn.split(":")
    return aws.client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]

"""SQS → Lambda event source mappings from serverless.yml's `sqs` events, as Lambda runs
them: receive a batch, hand it over as an SQS event, delete what succeeded, leave what
failed to come back after the visibility timeout (SQS then moves a message received
maxReceiveCount times to its dead-letter queue; moto does this too)."""
from __future__ import annotations

import base64
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from infra.local.lambdas import FunctionError, Lambdas
from infra.local.slsconfig import ServerlessConfig

logger = logging.getLogger("infra.local")


@dataclass
class Mapping:
    """One `sqs` event of one function."""

    function: str
    queue_url: str
    queue_arn: str
    batch_size: int = 10
    report_failures: bool = False
    delivered: int = 0
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def describe(self) -> dict[str, Any]:
        return {"function": self.function, "queue_url": self.queue_url, "queue_arn": self.queue_arn,
                "batch_size": self.batch_size, "report_batch_item_failures": self.report_failures,
                "delivered": self.delivered, "failed": self.failed}


def mappings_from(config: ServerlessConfig, refs: dict[str, dict[str, str]]) -> list[Mapping]:
    by_arn = {ref.get("Arn"): ref for ref in refs.values() if ref.get("Arn")}
    out = []
    for key, function in config.functions.items():
        for event in function.events:
            spec = event.get("sqs") if isinstance(event, dict) else None
            if spec is None:
                continue
            spec = {"arn": spec} if not isinstance(spec, dict) else spec
            if spec.get("enabled") is False:
                continue
            arn = spec["arn"]
            if isinstance(arn, dict) and "Fn::GetAtt" in arn:
                ref = refs[arn["Fn::GetAtt"][0]]
            else:
                ref = by_arn[arn]
            out.append(Mapping(
                function=key,
                queue_url=ref["Ref"],
                queue_arn=ref["Arn"],
                batch_size=int(spec.get("batchSize", 10)),
                report_failures=spec.get("functionResponseType") == "ReportBatchItemFailures",
            ))
    return out


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of Lambda's SQS event from a ReceiveMessage result."""
    attributes = {k: v for k, v in (message.get("Attributes") or {}).items()
                  if k in ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
                           "MessageGroupId", "MessageDeduplicationId", "SequenceNumber", "AWSTraceHeader")}
    message_attributes = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        binary = value.get("BinaryValue")
        message_attributes[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": base64.b64encode(binary).decode() if binary is not None else None,
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": [base64.b64encode(b).decode() for b in value.get("BinaryListValues", [])],
            "dataType": value.get("DataType"),
        }
        message_attributes[name] = {k: v for k, v in message_attributes[name].items() if v is not None}
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class QueueDelivery:
    """Delivers every mapping's queue to its function, in the background or on demand.

    `retry_delay_s`: None keeps a failed message invisible for the queue's visibility
    timeout, as AWS does; a number shortens that wait (0 for tests that fast-forward)."""

    def __init__(self, lambdas: Lambdas, mappings: list[Mapping], sqs: Any, region: str,
                 retry_delay_s: float | None = None, idle_wait_s: float = 0.25):
        self.lambdas = lambdas
        self.mappings = mappings
        self.sqs = sqs
        self.region = region
        self.retry_delay_s = retry_delay_s
        self.idle_wait_s = idle_wait_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._stop.clear()
        for mapping in self.mappings:
            thread = threading.Thread(target=self._poll, args=(mapping,), name=f"sqs-{mapping.function}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads.clear()

    def _poll(self, mapping: Mapping) -> None:
        while not self._stop.is_set():
            try:
                delivered = self.deliver_batch(mapping)
            except Exception:  # noqa: BLE001 - keep polling, as Lambda's poller does
                logger.exception("polling %s failed", mapping.queue_url)
                delivered = 0
            if not delivered:
                self._stop.wait(self.idle_wait_s)

    def deliver_batch(self, mapping: Mapping) -> int:
        """Receive one batch and hand it to the function; returns how many records it had."""
        with mapping.lock:
            messages: list[dict[str, Any]] = []
            while len(messages) < mapping.batch_size:
                got = self.sqs.receive_message(
                    QueueUrl=mapping.queue_url,
                    MaxNumberOfMessages=min(10, mapping.batch_size - len(messages)),
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                    WaitTimeSeconds=0,
                ).get("Messages", [])
                if not got:
                    break
                messages.extend(got)
            if not messages:
                return 0
            records = [sqs_record(m, mapping.queue_arn, self.region) for m in messages]
            failed_ids = self._invoke(mapping, records)
            done = [m for m in messages if m["MessageId"] not in failed_ids]
            failed = [m for m in messages if m["MessageId"] in failed_ids]
            for chunk in _chunks(done, 10):
                self.sqs.delete_message_batch(QueueUrl=mapping.queue_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)])
            if failed and self.retry_delay_s is not None:
                for chunk in _chunks(failed, 10):
                    self.sqs.change_message_visibility_batch(QueueUrl=mapping.queue_url, Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"],
                         "VisibilityTimeout": int(self.retry_delay_s)} for i, m in enumerate(chunk)])
            mapping.delivered += len(done)
            mapping.failed += len(failed)
            return len(messages)

    def _invoke(self, mapping: Mapping, records: list[dict[str, Any]]) -> set[str]:
        """Message ids that failed: the whole batch on an error, else the reported ones."""
        every = {r["messageId"] for r in records}
        try:
            result = self.lambdas.call(mapping.function, {"Records": records})
        except FunctionError:
            return every
        if not mapping.report_failures or not isinstance(result, dict):
            return set()
        reported = result.get("batchItemFailures") or []
        ids = {str(item.get("itemIdentifier") or "") for item in reported if isinstance(item, dict)}
        if len(ids) != len(reported) or not ids <= every:
            # Lambda treats a malformed failure report as a failure of the whole batch
            logger.warning("%s: invalid batchItemFailures %r", mapping.function, reported)
            return every
        return ids

    def drain(self, max_batches: int = 1000) -> int:
        """Deliver until no visible message is left on any mapped queue (for deterministic
        tests); returns how many records were handed over."""
        total = 0
        for _ in range(max_batches):
            handed = sum(self.deliver_batch(mapping) for mapping in self.mappings)
            total += handed
            if not handed:
                return total
        raise RuntimeError(f"queues still busy after {max_batches} batches")


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]

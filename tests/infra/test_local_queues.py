"""Queue delivery: SQS events in batches, partial batch failures, whole-batch failures, and
SQS's redrive to the dead-letter queue after maxReceiveCount receives."""
from __future__ import annotations

import json
import threading

import pytest

from infra.local.queues import mappings_from
from tests.infra.test_local_fixture_app import CALLS, fixture_stack


@pytest.fixture
def stack():
    running = fixture_stack()
    running.delivery.stop()  # deliveries happen when the test drains, not in the background
    yield running
    running.stop()


def _send(stack, queue, bodies):
    sqs = stack._session.client("sqs")
    url = stack.refs[queue]["Ref"]
    return [sqs.send_message(QueueUrl=url, MessageBody=json.dumps(b),
                             MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}})["MessageId"]
            for b in bodies]


def _dlq_bodies(stack, queue):
    sqs = stack._session.client("sqs")
    got = sqs.receive_message(QueueUrl=stack.refs[queue]["Ref"], MaxNumberOfMessages=10).get("Messages", [])
    return sorted(json.loads(m["Body"])["n"] for m in got)


def _depth(stack, queue):
    return {q["logical_id"]: q for q in stack.queue_depths()}[queue]


def test_mappings_come_from_serverless_yml(stack):
    mappings = {m.function: m for m in mappings_from(stack.config, stack.refs)}
    assert mappings["consume"].queue_url == stack.refs["WorkQueue"]["Ref"]
    assert mappings["consume"].report_failures is True
    assert mappings["consumeAll"].report_failures is False
    assert mappings["consumeAll"].batch_size == 10


def test_records_are_shaped_like_lambdas_sqs_event(stack):
    [message_id] = _send(stack, "WorkQueue", [{"n": 1}])
    assert stack.drain_queues() == 1
    [record] = CALLS["consume"]
    assert record["messageId"] == message_id
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.refs["WorkQueue"]["Arn"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"] == {"stringValue": "test", "stringListValues": [],
                                                   "binaryListValues": [], "dataType": "String"}
    assert json.loads(record["body"]) == {"n": 1}


def test_partial_batch_failure_retries_only_the_failed_record_then_redrives_it(stack):
    _send(stack, "WorkQueue", [{"n": 1}, {"n": 2, "ok": False}, {"n": 3}])
    stack.drain_queues()
    attempts = {}
    for record in CALLS["consume"]:
        n = json.loads(record["body"])["n"]
        attempts[n] = attempts.get(n, 0) + 1
    assert attempts == {1: 1, 2: 3, 3: 1}  # maxReceiveCount is 3 for WorkQueue
    assert _dlq_bodies(stack, "WorkDeadLetterQueue") == [2]
    depth = _depth(stack, "WorkQueue")
    assert depth["visible"] == 0 and depth["in_flight"] == 0


def test_an_exception_fails_the_whole_batch(stack):
    _send(stack, "BatchQueue", [{"n": 1}, {"n": 2, "ok": False}])
    stack.drain_queues()
    bodies = [json.loads(r["body"])["n"] for r in CALLS["consume_all"]]
    assert sorted(bodies) == [1, 1, 2, 2]  # maxReceiveCount is 2 for BatchQueue
    assert _dlq_bodies(stack, "BatchDeadLetterQueue") == [1, 2]


def test_a_malformed_failure_report_fails_the_whole_batch(stack):
    from infra.local.queues import Mapping

    mapping = Mapping("badReport", stack.refs["WorkQueue"]["Ref"], stack.refs["WorkQueue"]["Arn"], report_failures=True)
    records = [{"messageId": "a", "body": "{}"}, {"messageId": "b", "body": "{}"}]
    assert stack.delivery._invoke(mapping, records) == {"a", "b"}


def test_failed_messages_wait_for_the_visibility_timeout_by_default(stack):
    stack.delivery.retry_delay_s = None
    _send(stack, "WorkQueue", [{"n": 9, "ok": False}])
    assert stack.drain_queues() == 1
    depth = _depth(stack, "WorkQueue")
    assert depth["visible"] == 0 and depth["in_flight"] == 1
    assert _dlq_bodies(stack, "WorkDeadLetterQueue") == []


def test_the_background_poller_delivers(stack):
    delivered = threading.Event()
    stack.delivery.start()
    _send(stack, "WorkQueue", [{"n": 5}])
    for _ in range(200):
        if CALLS["consume"]:
            delivered.set()
            break
        threading.Event().wait(0.05)
    assert delivered.is_set()
    assert json.loads(CALLS["consume"][0]["body"]) == {"n": 5}

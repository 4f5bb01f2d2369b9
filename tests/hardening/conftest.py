"""Hardening fixtures: the webhook's client and invocation recorder (reused from
tests/webhook), snapshots of every table and queue, customer sessions, and the figures each
hostile class writes for docs/security.md (test-artifacts/hardening/<class>.json)."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.aws_clients import clients
from tests.sessions import customer  # noqa: F401 - the hardening tests' customer, as everywhere
from tests.webhook.conftest import invocations, webhook  # noqa: F401 - fixtures reused as they are

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "hardening"


def table_names() -> list[str]:
    """Every table the stack defines (the `aws` fixture made them from serverless.yml)."""
    return sorted(clients.client("dynamodb").list_tables()["TableNames"])


def snapshot() -> dict[str, list[str]]:
    """Every item of every table (as canonical JSON), and every queue's depth."""
    ddb = clients.resource("dynamodb")
    out: dict[str, list[str]] = {}
    for name in table_names():
        items, kwargs = [], {"ConsistentRead": True}
        table = ddb.Table(name)
        while True:
            page = table.scan(**kwargs)
            items += [json.dumps(i, sort_keys=True, default=str) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        out[name] = sorted(items)
    sqs = clients.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                        "ApproximateNumberOfMessagesNotVisible"])
        out["queue:" + url.rsplit("/", 1)[-1]] = [str(sum(int(v) for v in attrs["Attributes"].values()))]
    return out


def changes(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, list[str]]:
    """What appeared in `after` that `before` did not have, per table or queue."""
    out = {}
    for name, items in after.items():
        if name.startswith("queue:"):
            if items != before.get(name):
                out[name] = items
            continue
        new = sorted((Counter(items) - Counter(before.get(name, []))).elements())
        gone = sorted((Counter(before.get(name, [])) - Counter(items)).elements())
        if new or gone:
            out[name] = new + [f"(removed) {g}" for g in gone]
    return out


def staff() -> dict[str, str]:
    """A member of staff with every role, of branch T01 (where the hostile bookings are
    made), signed in (tests/staff_tokens.py)."""
    from tests.staff_tokens import staff as signed_in

    return signed_in(branch="T01")


def record(name: str, title: str, cases: int, outcome: str, lost: int = 0, **extra) -> None:
    """Figures of one hostile class for docs/security.md (rendered by tests/hardening/report.py)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    row = {"class": title, "cases": cases, "outcome": outcome, "lost": lost, **extra}
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(row, ensure_ascii=False, indent=1), encoding="utf-8")


@pytest.fixture
def stack_state(aws):
    """`snapshot()` and `changes()` bound to this test's moto."""

    class State:
        snapshot = staticmethod(snapshot)
        changes = staticmethod(changes)

    return State


WRITE_ACTIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
                 "SendMessage", "SendMessageBatch"}


class Writes:
    """Every write that moto applied (DynamoDB and SQS), with its request body: a cheap,
    exact way to see what one request stored, where a scan of every table is too slow to
    repeat per fuzzed example."""

    def __init__(self):
        self.applied: list[tuple[str, str]] = []

    def wrap(self, call_action):
        recorder = self

        def call(handler):
            status, headers, body = call_action(handler)
            action = handler._get_action()
            if action in WRITE_ACTIONS and int(status) < 400:
                raw = handler.body
                if isinstance(raw, bytes):
                    raw = raw.decode("utf-8", "replace")
                elif not isinstance(raw, str):
                    raw = json.dumps(raw, default=str)
                recorder.applied.append((action, raw))
            return status, headers, body

        call.serialized = getattr(call_action, "serialized", False)  # type: ignore[attr-defined]
        return call

    def since(self, mark: int, allowed: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        return [(a, b) for a, b in self.applied[mark:] if not any(x in b for x in allowed)]


@pytest.fixture
def moto_writes(monkeypatch):
    """`Writes` for whatever moto runs in this process (in-process mocks or the local
    stack's threaded server)."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.sqs.responses import SQSResponse

    recorder = Writes()
    monkeypatch.setattr(DynamoHandler, "call_action", recorder.wrap(DynamoHandler.call_action))
    monkeypatch.setattr(SQSResponse, "call_action", recorder.wrap(SQSResponse.call_action))
    return recorder


@pytest.fixture
def writes(aws, moto_writes):
    return moto_writes

"""notify's fixtures: core-banking customers, the notify queue delivered to the real handler,
and the SMS that moto's SNS recorded."""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

import pytest

from tests.aws_clients import clients
from tests.webhook import fake_api

_serial = itertools.count(1)


def card_number(seed: int) -> str:
    """A valid (Luhn) fictional card number."""
    from stdnum import luhn

    body = f"62{seed:014d}"[:15]
    return body + luhn.calc_check_digit(body)


@dataclass
class Customer:
    customer_id: str
    card_number: str
    phone: str
    last4: str
    card_hash: str


@pytest.fixture
def fake_wechat_api(aws, monkeypatch):
    """The fake WeChat API, with the client pointed at it."""
    with fake_api.running(monkeypatch) as fake:
        yield fake


@pytest.fixture
def make_customer(aws):
    """Core-banking customer with one card; `openids` are bound to it."""
    from functions.notify import corebank, store

    def make(openids=(), phone: str | None = None, customer_id: str | None = None) -> Customer:
        n = next(_serial)
        customer_id = customer_id or f"C{n:05d}"
        phone = phone or f"139{n:08d}"
        number = card_number(n * 7919)
        corebank.add_customer(customer_id, "测试客户", phone)
        card = corebank.add_card(customer_id, number)
        for openid in openids:
            store.bind(openid, customer_id, card.card_hash, card.last4)
        return Customer(customer_id, number, phone, card.last4, card.card_hash)

    return make


class Queue:
    """A queue (the notify queue by default; by logical id, its dead-letter queue named after
    it) as Lambda's event source mapping delivers it to `function`, through the real handler
    (infra/local/queues.py); failed records come back at once."""

    def __init__(self, refs, queue: str = "NotifyEventsQueue", function: str = "notifyEvents"):
        from infra.local import queues
        from infra.local.lambdas import Lambdas
        from tests.conftest import CONFIG

        self.sqs = clients.client("sqs")
        self.url = refs[queue]["Ref"]
        self.dlq_url = refs[queue.removesuffix("Queue") + "DeadLetterQueue"]["Ref"]
        mappings = [m for m in queues.mappings_from(CONFIG, refs) if m.function == function]
        self.delivery = queues.QueueDelivery(Lambdas(CONFIG), mappings, self.sqs, "cn-north-1", retry_delay_s=0)

    def send_raw(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.url, MessageBody=body)

    def drain(self) -> int:
        return self.delivery.drain()

    def receive(self, max_messages: int = 10) -> list[dict]:
        return self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=max_messages, AttributeNames=["All"],
                                        MessageAttributeNames=["All"]).get("Messages", [])

    def dead_letters(self) -> list[dict]:
        out = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10,
                                           MessageAttributeNames=["All"], VisibilityTimeout=300).get("Messages", [])
            if not got:
                return out
            out += got

    def waiting(self) -> int:
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def queue(aws):
    return Queue(aws)


@pytest.fixture
def sms(aws):
    """SMS that SNS (moto) was asked to send: a function returning [(phone, text)]."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    def sent() -> list[tuple[str, str]]:
        backend = sns_backends[DEFAULT_ACCOUNT_ID]["cn-north-1"]
        return [(phone, text) for phone, text, *_ in backend.sms_messages.values()]

    return sent


def sqs_event(*events_or_bodies, receive_count: int = 1) -> dict:
    """A Lambda SQS event carrying the given events (dicts) or raw bodies (str)."""
    records = []
    for n, item in enumerate(events_or_bodies):
        body = item if isinstance(item, str) else json.dumps(item)
        records.append({
            "messageId": f"m{n}-{next(_serial)}", "receiptHandle": f"rh-{n}", "body": body,
            "attributes": {"ApproximateReceiveCount": str(receive_count)}, "messageAttributes": {},
            "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:cn-north-1:123456789012:q",
            "awsRegion": "cn-north-1",
        })
    return {"Records": records}

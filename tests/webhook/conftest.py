"""Webhook fixtures: the Chalice test client on a fresh moto, and the invocations the
webhook makes (recorded on their way to the real feature handlers)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from chalice.test import Client

from functions.common import aws as common_aws
from functions.common import config


@dataclass
class Invocations:
    """What the webhook invoked (not what the features it reached invoked in turn).
    `delay_s` and `fail` play a slow or broken transport."""

    calls: list[tuple[str, dict]] = field(default_factory=list)
    delay_s: float = 0.0
    fail: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    nested: threading.local = field(default_factory=threading.local)

    def keys(self) -> list[str]:
        return [key for key, _ in self.calls]

    def wrap(self, real: Callable[[str, dict, float], Any]) -> Callable[[str, dict, float], Any]:
        def invoker(key: str, payload: dict, timeout: float) -> Any:
            depth = getattr(self.nested, "depth", 0)
            if depth:
                return real(key, payload, timeout)
            with self.lock:
                self.calls.append((key, payload))
            if self.delay_s:
                time.sleep(self.delay_s)
            if self.fail:
                raise RuntimeError(f"{key} failed: Unhandled")
            self.nested.depth = 1
            try:
                return real(key, payload, timeout)
            finally:
                self.nested.depth = 0

        return invoker


@pytest.fixture
def invocations(aws):
    from infra.local import runtime, slsconfig

    stack = slsconfig.load("local")
    recorded = Invocations()
    common_aws.set_invoker(recorded.wrap(lambda key, payload, timeout: runtime.call(stack, key, payload, timeout)))
    yield recorded  # the aws fixture restores the Lambda API afterwards


@pytest.fixture
def webhook(aws, invocations):
    from functions.webhook import app as webhook_app

    with Client(webhook_app.app) as client:
        yield client


@pytest.fixture
def fake_wechat_api(aws, monkeypatch):
    from tests.webhook.fake_api import running

    with running(monkeypatch) as fake:
        yield fake


def state_items() -> list[dict]:
    table = boto3.resource("dynamodb").Table(config.settings().table("wechat_state"))
    return table.scan(ConsistentRead=True)["Items"]

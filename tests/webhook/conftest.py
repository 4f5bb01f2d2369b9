"""Webhook fixtures: the Chalice test client on a fresh moto, and the invocations the
webhook makes (recorded on their way to the real feature handlers)."""
from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from chalice.test import Client

from functions.common import config
from infra.local import runtime
from infra.local.lambdas import FunctionError, Lambdas
from tests.aws_clients import clients
from tests.conftest import CONFIG


class Invocations(Lambdas):
    """The functions behind the Lambda API, recording what the webhook invoked (intents;
    not what the features it reached invoked in turn). `delay_s`, `hang` and `fail` play a
    slow, hanging (until the test ends) or broken feature."""

    def __init__(self) -> None:
        super().__init__(CONFIG)
        self.calls: list[tuple[str, dict]] = []
        self.delay_s = 0.0
        self.hang = False
        self.fail = False
        self.lock = threading.Lock()
        self.released = threading.Event()

    def keys(self) -> list[str]:
        return [key for key, _ in self.calls]

    def call(self, key: str, event: Any, timeout_s: float | None = None) -> Any:
        if key.endswith("Intent"):
            with self.lock:
                self.calls.append((key, event))
            if self.delay_s:
                time.sleep(self.delay_s)  # the feature's latency
            if self.hang:  # answers nothing: the webhook has given up long before the test ends
                self.released.wait(30)
                raise FunctionError({"errorMessage": "Task timed out", "errorType": "Sandbox.Timedout"})
            if self.fail:
                raise FunctionError({"errorMessage": f"{key} failed", "errorType": "RuntimeError"})
        return super().call(key, event, timeout_s)


@pytest.fixture
def invocations(aws, lambda_api):
    recorded = Invocations()
    lambda_api.gateway.lambdas = recorded
    yield recorded  # the aws fixture gives the next test fresh functions
    recorded.released.set()


class Deployed:
    """The webhook as Lambda runs it: Chalice's test client builds each event from the app's
    routes, and serverless.yml's handler (functions/webhook/entry.handler) answers it, so
    every request the tests send takes the deployed path."""

    def __init__(self) -> None:
        from functions.webhook.app import app

        self.app, self.handler = app, runtime.handler_of(CONFIG.functions["webhook"])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    def __call__(self, event: Any, context: Any) -> Any:
        return self.handler(event, context)


@pytest.fixture
def webhook(aws, invocations):
    with Client(Deployed()) as client:  # type: ignore[arg-type]
        yield client


@pytest.fixture
def fake_wechat_api(aws, monkeypatch):
    from tests.webhook.fake_api import running

    with running(monkeypatch) as fake:
        yield fake


def state_items() -> list[dict]:
    table = clients.resource("dynamodb").Table(config.settings().table("wechat_state"))
    return table.scan(ConsistentRead=True)["Items"]

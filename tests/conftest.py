"""Shared fixtures. The environment the functions see is the local stage's, computed from
serverless.yml before any function module is imported (PynamoDB reads table names at
import)."""
from __future__ import annotations

import functools
import gc
import os

import pytest

from infra.local import resources, slsconfig
from tests.aws_clients import clients

CONFIG = slsconfig.load("local")

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "cn-north-1",
        "AWS_REGION": "cn-north-1",
    }
)
for _key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
    os.environ.pop(_key, None)
# Table names do not depend on moto's ids, so function modules can be imported now;
# the `aws` fixture fills in queue URLs and key ids once moto has made them.
os.environ.update(resources.local_environment(CONFIG, resources.placeholders(CONFIG)))


def _reuse_moto_signing_keys() -> None:
    """moto makes a fresh RSA-2048 key pair for every KMS key, symmetric ones included,
    where it is never used; that is most of each test's set-up time. Reuse one per key
    spec (keys, data keys and ciphertexts stay distinct)."""
    from moto.kms import models

    models.generate_private_key = functools.lru_cache(maxsize=None)(models.generate_private_key)


def _reuse_moto_pool_key() -> None:
    """moto imports the same RSA key, from the JWKS it ships, for every user pool it makes:
    0.4 s of CPU per test (the private key's consistency checks). Import it once."""
    import json
    import types

    from joserfc import jwk
    from moto.cognitoidp import models

    imported = functools.lru_cache(maxsize=None)(lambda text: jwk.RSAKey.import_key(json.loads(text)))
    rsa_key = types.SimpleNamespace(import_key=lambda value: imported(json.dumps(value, sort_keys=True)))
    models.jwk = types.SimpleNamespace(RSAKey=rsa_key)


_reuse_moto_signing_keys()
_reuse_moto_pool_key()
# DynamoDB and SQS apply each request atomically; moto must too, or conditional writes and
# receives race.
resources.serialize_requests()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under `--dist loadgroup` a test that names no xdist group goes to either worker, so a
    module-scoped fixture (a local stack with its demo data, `make run`, a deploy into moto)
    was built on both workers for one module. A module's tests now stay together, on one
    worker, unless they name a group.

    The groups holding a slow test go first, each kept whole and in collection order:
    xdist hands groups out in the order they come, so a long group (the deploy rehearsal,
    17 s) dealt last kept one worker busy while the other had finished; dealt first, the
    short ones even the two out at the end."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))

    def group(item) -> str:
        return item.get_closest_marker("xdist_group").args[0]

    slow = {group(item) for item in items if item.get_closest_marker("slow")}
    first: dict[str, int] = {}
    for n, item in enumerate(items):
        first.setdefault(group(item), n)
    items.sort(key=lambda item: (group(item) not in slow, first[group(item)]))


def pytest_collection_finish(session):
    """A test process holds a large heap of long-lived objects (botocore's and moto's service
    models, hypothesis, every test module), and the cycle collector walked all of it some 50
    times a run: 15 % of a function test's time. What collection made is frozen out of its
    reach, and young objects are collected less often (1.45 s of collection where there
    were 6.4, on booking's and products' tests)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


@pytest.fixture(scope="session")
def lambda_api():
    """The Lambda Invoke API on 127.0.0.1, calling the real handlers in this process, as the
    local stack's gateway does; `aws.invoke` reaches it through boto3 (moto lets calls to
    other endpoints through). Tests may replace `lambda_api.gateway.lambdas`."""
    from infra.local.gateway import InvokeEndpoint
    from infra.local.lambdas import Lambdas

    endpoint = InvokeEndpoint(Lambdas(CONFIG))
    yield endpoint
    endpoint.stop()


@pytest.fixture
def aws(lambda_api):
    """A fresh moto account with every table, queue and key serverless.yml defines, and
    the functions behind the Lambda Invoke API. Yields the resolved resource references
    ({logical id: {"Ref", "Arn"}})."""
    from moto import mock_aws

    from functions.common import aws as common_aws
    from functions.common import config
    from infra.local.lambdas import Lambdas

    with mock_aws():
        common_aws.reset()
        refs = resources.create_all(CONFIG, clients)
        saved = dict(os.environ)
        os.environ.update(resources.local_environment(CONFIG, refs))
        os.environ["AWS_ENDPOINT_URL_LAMBDA"] = lambda_api.url
        config.reset()
        lambda_api.gateway.lambdas = Lambdas(CONFIG)
        try:
            yield refs
        finally:
            os.environ.clear()
            os.environ.update(saved)
            config.reset()
            common_aws.reset()


def queued(aws, queue: str = "NotifyEventsQueue") -> list[dict]:
    """Every message on a queue (by logical id; the notify queue's events by default),
    drained (`aws` is the fixture's value)."""
    import json

    sqs = clients.client("sqs")
    url = aws[queue]["Ref"]
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        for message in got:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def setting(monkeypatch):
    """Set a function's setting as a deployment does, through its environment variable
    (`setting("LOAN_DAILY_LIMIT", "1")`); config.settings() reads it afresh."""
    from functions.common import config

    def set_(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        config.reset()

    yield set_
    config.reset()


@pytest.fixture
def frozen_clock():
    """Freeze functions.common.clock; call the fixture's value with an aware datetime."""
    from functions.common import clock

    yield clock.freeze
    clock.freeze(None)

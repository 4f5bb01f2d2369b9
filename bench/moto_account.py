"""A benchmark's AWS: a fresh moto account in this process with what serverless.yml
defines, DynamoDB's per-request atomicity (resources.serialize_requests), and a count of
requests by action."""
from __future__ import annotations

import contextlib
import os
from collections import Counter
from datetime import datetime


@contextlib.contextmanager
def account(now: datetime):
    """A fresh moto account with every table, queue and key serverless.yml defines, the
    clock frozen at `now`; yields the resources' references ({logical id: {"Ref", "Arn"}}).
    Invokes of other functions reach their real handlers through the Lambda API served in
    this process. Function modules read table names when imported: import them inside."""
    from moto import mock_aws

    from infra.local import resources, runtime, slsconfig
    from infra.local.gateway import InvokeEndpoint
    from infra.local.lambdas import Lambdas

    class Instances(Lambdas):
        """As many instances of a function as calls at once, as Lambda runs them (the local
        stack runs one at a time per function, which would queue the 16 clients' branch
        queries behind each other)."""

        def call(self, key, event, timeout_s=None):
            return runtime.call(self.config, key, event, timeout_s)

    config = slsconfig.load("local")
    saved = dict(os.environ)
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "cn-north-1", "AWS_REGION": "cn-north-1",
                       "LOG_LEVEL": "WARNING", "POWERTOOLS_LOG_LEVEL": "WARNING"})
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ENDPOINT_URL_DYNAMODB"):
        os.environ.pop(key, None)
    os.environ.update(resources.local_environment(config, resources.placeholders(config)))
    from functions.common import aws, clock
    from functions.common import config as settings

    resources.serialize_requests()
    with mock_aws():
        aws.reset()
        refs = resources.create_all(config)
        os.environ.update(resources.local_environment(config, refs))
        lambda_api = InvokeEndpoint(Instances(config))
        os.environ["AWS_ENDPOINT_URL_LAMBDA"] = lambda_api.url
        settings.reset()
        clock.freeze(now)
        try:
            yield refs
        finally:
            clock.freeze(None)
            lambda_api.stop()
            aws.reset()
            os.environ.clear()
            os.environ.update(saved)
            settings.reset()


@contextlib.contextmanager
def counting(counter: Counter):
    """Count DynamoDB requests by action (TransactWriteItems: transactions tried)."""
    from moto.dynamodb.responses import DynamoHandler

    dispatch = DynamoHandler.call_action

    def counted(handler, *args, **kwargs):
        counter[handler._get_action()] += 1
        return dispatch(handler, *args, **kwargs)

    DynamoHandler.call_action = counted  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoHandler.call_action = dispatch  # type: ignore[method-assign]

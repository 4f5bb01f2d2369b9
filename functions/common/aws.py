"""AWS clients, created once per container and shared (their creation dominates cold starts),
from one botocore session: making a client needs no boto3, whose import (s3transfer and
multiprocessing with it) would cost every cold start about a sixth of `import boto3` again.
Endpoints come from the standard AWS_ENDPOINT_URL[_<SERVICE>] variables, which the local stack
sets; tests call `reset()` when they start a fresh moto.

DynamoDB has one client per container (`dynamodb()`), for PynamoDB's models
(functions.common.dynamo) and for plain calls alike (a page's session read needs no ORM), so a
page that reads its session and a feature table makes one client, not two."""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from functools import cache
from typing import Any

from functions.common import config

# The AWS operations the functions call, by service. A client's model is the larger part of
# making it (botocore parses the whole service description: SSM's alone is ~1.5 MB of JSON,
# 30 ms); the functions ship descriptions of these operations only (models/, written from
# botocore's own by scripts/service_models.py), found before botocore's. And botocore lists
# every service it ships (some 400 directories, one stat at a time) before it loads a model,
# once per model type: the loader below knows these services without listing the others.
OPERATIONS = {
    "dynamodb": ("BatchGetItem", "BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "Query", "Scan",
                 "TransactWriteItems", "UpdateItem"),
    "kms": ("Decrypt", "GenerateDataKey"),
    "lambda": ("Invoke",),
    "sns": ("Publish",),
    "sqs": ("ChangeMessageVisibility", "GetQueueAttributes", "GetQueueUrl", "SendMessage"),
    "ssm": ("GetParameters",),
}
SERVICES = tuple(OPERATIONS)
MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")


@cache
def session() -> Any:
    """The container's botocore session (models and credentials loaded once), whose model
    loader reads the functions' own service descriptions and knows the services above
    without listing the others."""
    from botocore.exceptions import DataNotFoundError
    from botocore.loaders import Loader
    from botocore.session import get_session

    class Models(Loader):
        def list_available_services(self, type_name: str) -> list[str]:
            found = []
            for service in SERVICES:
                try:
                    self.list_api_versions(service, type_name)
                except DataNotFoundError:
                    continue
                found.append(service)
            return found

    made = get_session()
    data_path = made.get_config_variable("data_path")
    made.register_component("data_loader", Models(extra_search_paths=[MODELS, *(data_path.split(os.pathsep)
                                                                                 if data_path else [])]))
    return made


@cache
def client(service: str, read_timeout: float = 5.0, max_attempts: int = 3, connect_timeout: float = 2.0):
    """A shared client; `max_attempts=1` where a retry could repeat an effect."""
    from botocore.config import Config

    cfg = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
    )
    return session().create_client(service, region_name=config.settings().region, config=cfg)


# The DynamoDB client's: PynamoDB's defaults for timeouts and retries (standard mode), and
# enough connections for a notify batch's record workers and its group commit at once.
DYNAMODB_CONNECT_TIMEOUT_S = 2
DYNAMODB_READ_TIMEOUT_S = 3
DYNAMODB_RETRY_ATTEMPTS = 3  # after the first try
DYNAMODB_POOL_CONNECTIONS = 20


class _OneClient:
    """The container's DynamoDB client, made on first use under a lock (threads using it
    first together get the same one), for the region and endpoint the environment names, and
    made again when those change (the local stack's, a benchmark's moto) or after `forget`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.built: tuple[tuple[str, str | None], Any] | None = None  # endpoint, client

    def get(self) -> Any:
        endpoint, built = dynamodb_endpoint(), self.built
        if built is None or built[0] != endpoint:
            with self.lock:
                built = self.built
                if built is None or built[0] != endpoint:
                    built = self.built = (endpoint, _dynamodb_client(*endpoint))
        return built[1]

    def forget(self) -> None:
        with self.lock:
            self.built = None


def _dynamodb_client(region: str, host: str | None) -> Any:
    from botocore.config import Config

    cfg = Config(connect_timeout=DYNAMODB_CONNECT_TIMEOUT_S, read_timeout=DYNAMODB_READ_TIMEOUT_S,
                 retries={"mode": "standard", "total_max_attempts": 1 + DYNAMODB_RETRY_ATTEMPTS},
                 max_pool_connections=DYNAMODB_POOL_CONNECTIONS, parameter_validation=False)
    return session().create_client("dynamodb", region_name=region, endpoint_url=host, config=cfg)


_dynamodb = _OneClient()


def dynamodb_endpoint() -> tuple[str, str | None]:
    """The region and, locally, the DynamoDB endpoint the environment names."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "cn-north-1")
    return region, os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")


def dynamodb() -> Any:
    """The container's DynamoDB client (botocore clients are safe to share between threads)."""
    return _dynamodb.get()


def partition(table: str, key: str, projection: str | None = None) -> Iterator[dict[str, Any]]:
    """Every item of one partition (`pk` = `key`) of a table, page after page, through the
    container's client: a first page's one read, without a model's import and machinery
    (booking/roster.py, products/listing.py)."""
    asked: dict[str, Any] = {"TableName": table, "KeyConditionExpression": "pk = :pk",
                             "ExpressionAttributeValues": {":pk": {"S": key}}}
    if projection:
        asked["ProjectionExpression"] = projection
    while True:
        page = dynamodb().query(**asked)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        asked["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def forget_dynamodb() -> None:
    """Make the DynamoDB client again at its next use (functions.common.dynamo.reconnect)."""
    _dynamodb.forget()


INVOKE_CONNECT_S = 0.5


def invoke(function_key: str, payload: dict[str, Any], timeout_s: float) -> Any:
    """Invoke a function of this stack synchronously by its serverless.yml key, answering
    within `timeout_s`. Raises RuntimeError when the function failed, TimeoutError or a
    botocore time-out when it did not answer in time.

    The Lambda API answers an Invoke in one read once the function returns, so the client's
    connect and read timeouts bound the wait; there are no retries (botocore would retry a
    read time-out, running the function again). Read timeouts are whole quarter seconds, so
    a container caches a handful of clients. The local stack and the tests serve the
    Invoke API on 127.0.0.1 (AWS_ENDPOINT_URL_LAMBDA)."""
    read_s = max(0.25, int((timeout_s - INVOKE_CONNECT_S) * 4) / 4)
    lam = client("lambda", read_timeout=read_s, max_attempts=1, connect_timeout=INVOKE_CONNECT_S)
    res = lam.invoke(
        FunctionName=config.settings().function_name(function_key),
        InvocationType="RequestResponse",
        Payload=json.dumps(payload).encode(),
    )
    body = json.loads(res["Payload"].read() or b"null")
    if res.get("FunctionError"):
        raise RuntimeError(f"{function_key} failed: {body!r:.200}")
    return body


def reset() -> None:
    """Forget the session and its clients (a new moto, new endpoints)."""
    client.cache_clear()
    session.cache_clear()

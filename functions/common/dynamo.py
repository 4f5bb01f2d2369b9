"""PynamoDB base: a Model whose connection is made once, table names and endpoint from the
environment, TTL helpers, a group commit of puts.

A model names its table by logical name (`table = "branches"` → env `TABLE_BRANCHES`), so
the same code runs against moto, the local stack and AWS.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute
from pynamodb.connection import TableConnection
from pynamodb.models import MetaProtocol
from pynamodb.models import Model as PynamoDBModel

from functions.common import clock, lazy

_CONNECTING = threading.Lock()


class Model(PynamoDBModel):
    """PynamoDB's Model, whose connection and botocore client are made once per model, under
    a lock, from one botocore session. PynamoDB makes them on first use without a lock, in a
    session of the calling thread's own: a cold notify container's first batch, ten threads
    at once, built 21 sessions and clients and spent 2.2 s of CPU on them (now 3 clients,
    one session, under 0.2 s)."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        with _CONNECTING:
            connection = super()._get_connection()
            # PynamoDB keeps its session per thread; clients are only made here, under the lock
            connection.connection._local.session = _botocore_session()
            connection.connection.client  # noqa: B018 - made now, while the lock is held
        return connection


@lazy.once
def _botocore_session():
    """The container's one botocore session for DynamoDB clients (models set no credentials of
    their own: the environment's apply, as for every other client)."""
    from botocore.session import get_session

    return get_session()


def table_meta(logical_name: str) -> Any:
    """A PynamoDB `Meta` class for a table whose name comes from the environment."""
    env_key = f"TABLE_{logical_name.upper().replace('-', '_')}"

    class Meta(MetaProtocol):
        connect_timeout_seconds = 2
        read_timeout_seconds = 3
        max_retry_attempts = 3

    Meta.env_key = env_key  # type: ignore[attr-defined]
    _read_environment(Meta)
    return Meta


def _read_environment(meta: Any) -> None:
    meta.table_name = os.environ.get(meta.env_key, f"missing-{meta.env_key}")
    meta.region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "cn-north-1")
    meta.host = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")


def reconnect() -> None:
    """Re-read table names and endpoint from the environment and drop every model's cached
    connection, as a new Lambda container would (the local stack and tests change the
    environment under loaded modules)."""
    pending = list(Model.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if hasattr(getattr(model, "Meta", None), "env_key"):
            _read_environment(model.Meta)
        model._connection = None


def expires_in(seconds: int) -> int:
    """An epoch-seconds TTL value `seconds` from now."""
    return clock.epoch() + int(seconds)


def expires_at(when: datetime) -> int:
    return int(when.timestamp())


class TTLAttribute(NumberAttribute):
    """Epoch seconds; DynamoDB deletes the item some time after. Readers must still check
    expiry themselves, since deletion can lag by up to two days."""


def transaction(model: type[Model]):
    """A TransactWrite on the connection `model` keeps (and `reconnect` resets), so a
    transaction follows the same table endpoint as the model's own calls."""
    from pynamodb.transactions import TransactWrite

    return TransactWrite(connection=model._get_connection().connection)


def condition_failed(error: Exception) -> bool:
    """Whether a PynamoDB write failed on its condition (as opposed to throttling or an
    outage, which the caller must not mistake for "someone else got there first")."""
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def is_live(expires: int | None) -> bool:
    return expires is None or expires > clock.epoch()


class WriteGroup:
    """Unconditional puts from concurrent threads, written together (group commit). A thread
    that will put announces it (`promise`); a put then waits, at most LINGER_S, until every
    announced put has arrived, and they go in one BatchWriteItem (up to 25 items). So the
    outcomes of sends that run side by side cost one round trip instead of one each, and a
    lone put is written at once. `save` returns once its item is stored and raises what its
    write raised (PynamoDB retries unprocessed items first)."""

    LIMIT = 25
    LINGER_S = 0.05

    def __init__(self, model: type[Model]):
        self.model = model
        self._changed = threading.Condition()
        self._waiting: list[_Put] = []
        self._promised = 0
        self._writing = False
        self._mine = threading.local()

    @property
    def waiting(self) -> int:
        """How many puts wait for a write (the next one takes them)."""
        with self._changed:
            return len(self._waiting)

    @contextmanager
    def promise(self) -> Iterator[None]:
        """This thread may `save` one item before the block ends; a promise not kept is
        withdrawn at the end."""
        with self._changed:
            self._promised += 1
        self._mine.promised = getattr(self._mine, "promised", 0) + 1
        try:
            yield
        finally:
            if self._mine.promised:
                self._mine.promised -= 1
                with self._changed:
                    self._promised -= 1
                    self._changed.notify_all()

    def save(self, item: Model) -> None:
        put = _Put(item)
        with self._changed:
            if getattr(self._mine, "promised", 0):
                self._mine.promised -= 1
                self._promised -= 1
            self._waiting.append(put)
            self._changed.notify_all()
            leader, self._writing = not self._writing, True
        if leader:
            self._write_while_waiting()
        put.done.wait()
        if put.error is not None:
            raise put.error

    def _write_while_waiting(self) -> None:
        while True:
            with self._changed:
                if not self._waiting:
                    self._writing = False
                    return
                self._changed.wait_for(lambda: not self._promised or len(self._waiting) >= self.LIMIT,
                                       timeout=self.LINGER_S)
                group, self._waiting = self._waiting[:self.LIMIT], self._waiting[self.LIMIT:]
            try:
                with self.model.batch_write() as batch:
                    for put in group:
                        batch.save(put.item)
            except Exception as error:  # noqa: BLE001 - each waiter raises it
                for put in group:
                    put.error = error
            for put in group:
                put.done.set()


class _Put:
    def __init__(self, item: Model):
        self.item = item
        self.done = threading.Event()
        self.error: Exception | None = None


__all__ = [
    "Model", "table_meta", "expires_in", "expires_at", "TTLAttribute", "is_live", "condition_failed", "transaction",
    "WriteGroup",
]

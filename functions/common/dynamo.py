"""PynamoDB models on one DynamoDB client per container; table names and endpoint from the
environment; TTL helpers.

A model names its table by logical name (`table = "branches"` → env `TABLE_BRANCHES`), so
the same code runs against moto, the local stack and AWS.

PynamoDB maps items to classes and builds every request (its public `get_*_kwargs` helpers,
conditions, update actions, `from_raw_data`); this module sends them through the container's
one DynamoDB client (functions.common.aws.dynamodb: made on first use, under a lock, from one
botocore session; plain calls share it). PynamoDB's own transport
makes a client per model, each from a botocore session of the calling thread's own, without
a lock: a cold notify container's first batch, ten threads at once, built 21 sessions and
clients and spent 2.2 s of CPU on them, and every model of a cold single-threaded request
paid a session of its own (about 50 ms each). Here a cold container makes one session and
one client, whatever the threads and models; the model's I/O methods (get, save, update,
delete, query, scan, batch_get, batch_write) keep PynamoDB's signatures, errors and results;
`save_if`, `update_if` and `delete_if` answer whether a conditional write was applied.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from pynamodb.attributes import Attribute, NumberAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, GetError, PutError, QueryError, ScanError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.projection import create_projection_expression
from pynamodb.expressions.update import Action
from pynamodb.indexes import Index
from pynamodb.models import MetaProtocol
from pynamodb.models import Model as PynamoDBModel
from pynamodb.transactions import TransactWrite

from functions.common import aws, clock

_M = TypeVar("_M", bound="Model")
BATCH_GET_KEYS = 100
BATCH_WRITE_ITEMS = 25
CONNECT_TIMEOUT_S = aws.DYNAMODB_CONNECT_TIMEOUT_S
READ_TIMEOUT_S = aws.DYNAMODB_READ_TIMEOUT_S
MAX_RETRY_ATTEMPTS = aws.DYNAMODB_RETRY_ATTEMPTS


# ----- the container's client ----------------------------------------------------------------

class _SharedConnection(Connection):
    """PynamoDB's low-level connection, sending through the container's client."""

    @property
    def client(self) -> Any:
        return aws.dynamodb()


@cache
def _connection(region: str) -> Connection:
    """The PynamoDB connection of a region (for PynamoDB's TransactWrite, which takes one
    publicly)."""
    return _SharedConnection(region=region)


def _connected() -> Connection:
    return _connection(aws.dynamodb_endpoint()[0])


def _send(operation: str, kwargs: dict[str, Any], failure: type[Exception]) -> dict[str, Any]:
    """One request; a DynamoDB error is raised as PynamoDB raises it (`failure`, with the
    botocore error as its cause, so `cause_response_code` and `condition_failed` work)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return _connected().dispatch(operation, kwargs)
    except (BotoCoreError, ClientError) as error:
        raise failure(f"{operation} failed", error) from error  # type: ignore[call-arg]


# ----- models --------------------------------------------------------------------------------

def _key_attributes(model: type[PynamoDBModel], index_name: str | None = None) -> tuple[Attribute, Attribute | None]:
    """The hash and range key attributes of a model's table, or of one of its indexes."""
    attributes: Iterable[Attribute] = model.get_attributes().values()
    if index_name:
        indexes = (value for cls in model.__mro__ for value in vars(cls).values() if isinstance(value, Index))
        attributes = next(i for i in indexes if i.Meta.index_name == index_name).Meta.attributes.values()
    keys = list(attributes)
    hash_key = next(a for a in keys if a.is_hash_key)
    return hash_key, next((a for a in keys if a.is_range_key), None)


class Results(list[Any]):
    """A query's or a scan's items; `last_evaluated_key` resumes after the last of them
    (None when there is nothing more)."""

    last_evaluated_key: dict[str, Any] | None = None


class Model(PynamoDBModel):
    """A PynamoDB model whose requests go through the container's one client (see above)."""

    @classmethod
    def get(cls: type[_M], hash_key: Any, range_key: Any = None, consistent_read: bool = False,
            attributes_to_get: Sequence[str] | None = None) -> _M:
        kwargs = cls.get_operation_kwargs_from_class(hash_key, range_key=range_key)
        kwargs["ConsistentRead"] = consistent_read
        _project(kwargs, attributes_to_get)
        item = _send("GetItem", kwargs, GetError).get("Item")
        if not item:
            raise cls.DoesNotExist()
        return cls.from_raw_data(item)

    def save(self, condition: Condition | None = None, *, add_version_condition: bool = True) -> dict[str, Any]:
        _unsupported(add_version_condition=None if add_version_condition else False)
        kwargs = self.get_save_kwargs_from_instance(condition=condition)
        data = _send("PutItem", kwargs, PutError)
        self.update_local_version_attribute()
        return data

    def update(self, actions: list[Action], condition: Condition | None = None, *,
               add_version_condition: bool = True) -> dict[str, Any]:
        kwargs = self.get_update_kwargs_from_instance(actions=actions, condition=condition,
                                                      add_version_condition=add_version_condition)
        kwargs["ReturnValues"] = "ALL_NEW"
        data = _send("UpdateItem", kwargs, UpdateError)
        self.deserialize(data["Attributes"])
        return data

    def delete(self, condition: Condition | None = None, *, add_version_condition: bool = True) -> dict[str, Any]:
        kwargs = self.get_delete_kwargs_from_instance(condition=condition, add_version_condition=add_version_condition)
        return _send("DeleteItem", kwargs, DeleteError)

    # A write made only while `condition` holds: True when it was applied, False when DynamoDB
    # refused it on the condition (someone else got there first); any other failure raises.
    def save_if(self, condition: Condition) -> bool:
        return _applied(lambda: self.save(condition))

    def update_if(self, actions: list[Action], condition: Condition) -> bool:
        return _applied(lambda: self.update(actions, condition))

    def delete_if(self, condition: Condition) -> bool:
        return _applied(lambda: self.delete(condition))

    @classmethod
    def query(cls: type[_M], hash_key: Any, range_key_condition: Condition | None = None,  # type: ignore[override]
              filter_condition: Condition | None = None, consistent_read: bool = False, index_name: str | None = None,
              scan_index_forward: bool | None = None, limit: int | None = None,
              last_evaluated_key: dict[str, Any] | None = None, attributes_to_get: list[str] | None = None,
              page_size: int | None = None, rate_limit: float | None = None) -> Results:
        """All matching items at once (a list), `limit` at most; see Results."""
        _unsupported(rate_limit=rate_limit)
        hash_attribute, _ = _key_attributes(cls, index_name)
        key_condition = hash_attribute == hash_key
        if range_key_condition is not None:
            key_condition &= range_key_condition
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        kwargs: dict[str, Any] = {"TableName": cls.Meta.table_name,
                                  "KeyConditionExpression": key_condition.serialize(names, values),
                                  "ConsistentRead": consistent_read}
        if index_name:
            kwargs["IndexName"] = index_name
        if scan_index_forward is not None:
            kwargs["ScanIndexForward"] = scan_index_forward
        return _pages(cls, "Query", kwargs, names, values, filter_condition, attributes_to_get, limit,
                      page_size, last_evaluated_key, index_name, QueryError)

    @classmethod
    def scan(cls: type[_M], filter_condition: Condition | None = None,  # type: ignore[override]
             segment: int | None = None, total_segments: int | None = None, limit: int | None = None,
             last_evaluated_key: dict[str, Any] | None = None, page_size: int | None = None,
             consistent_read: bool | None = None, index_name: str | None = None, rate_limit: float | None = None,
             attributes_to_get: list[str] | None = None) -> Results:
        """All matching items at once (a list), `limit` at most; see Results."""
        _unsupported(segment=segment, total_segments=total_segments, rate_limit=rate_limit)
        kwargs: dict[str, Any] = {"TableName": cls.Meta.table_name}
        if consistent_read is not None:
            kwargs["ConsistentRead"] = consistent_read
        if index_name:
            kwargs["IndexName"] = index_name
        return _pages(cls, "Scan", kwargs, {}, {}, filter_condition, attributes_to_get, limit, page_size,
                      last_evaluated_key, index_name, ScanError)

    @classmethod
    def batch_get(cls: type[_M], items: Iterable[Any], consistent_read: bool | None = None,  # type: ignore[override]
                  attributes_to_get: Sequence[str] | None = None) -> Iterator[_M]:
        """Items by key (hash keys, or (hash, range) tuples), any order; unknown keys skipped."""
        _, range_attribute = _key_attributes(cls)
        keys = [cls.get_operation_kwargs_from_class(*(key if range_attribute else (key,)))["Key"]
                for key in dict.fromkeys(items)]
        for start in range(0, len(keys), BATCH_GET_KEYS):
            request: dict[str, Any] = {"Keys": keys[start:start + BATCH_GET_KEYS]}
            if consistent_read is not None:
                request["ConsistentRead"] = consistent_read
            _project(request, attributes_to_get)
            while request:
                data = _send("BatchGetItem", {"RequestItems": {cls.Meta.table_name: request}}, GetError)
                yield from map(cls.from_raw_data, data["Responses"].get(cls.Meta.table_name, []))
                request = data.get("UnprocessedKeys", {}).get(cls.Meta.table_name)

    @classmethod
    def batch_write(cls: type[_M], auto_commit: bool = True) -> BatchWrite:  # type: ignore[override]
        return BatchWrite(cls)


def _applied(write: Callable[[], object]) -> bool:
    try:
        write()
    except (PutError, UpdateError, DeleteError) as error:
        if condition_failed(error):
            return False
        raise
    return True


def _unsupported(**options: Any) -> None:
    """Options of PynamoDB's that this transport does not offer (and no store uses)."""
    given = sorted(name for name, value in options.items() if value is not None)
    if given:
        raise TypeError(f"not supported: {', '.join(given)}")


def _project(kwargs: dict[str, Any], attributes_to_get: Sequence[str] | None) -> None:
    if attributes_to_get:
        names: dict[str, str] = {}
        kwargs["ProjectionExpression"] = create_projection_expression(list(attributes_to_get), names)
        kwargs["ExpressionAttributeNames"] = {**kwargs.get("ExpressionAttributeNames", {}),
                                              **{v: k for k, v in names.items()}}


def _pages(model: type[PynamoDBModel], operation: str, kwargs: dict[str, Any], names: dict[str, str],
           values: dict[str, Any], filter_condition: Condition | None, attributes_to_get: list[str] | None,
           limit: int | None, page_size: int | None, start: dict[str, Any] | None, index_name: str | None,
           failure: type[Exception]) -> Results:
    """Every page of a query or scan (`page_size` items a page, `limit` by default), stopping
    after `limit` items; the result's `last_evaluated_key` is where a next call resumes."""
    if filter_condition is not None:
        kwargs["FilterExpression"] = filter_condition.serialize(names, values)
    if attributes_to_get:
        kwargs["ProjectionExpression"] = create_projection_expression(list(attributes_to_get), names)
    if names:
        kwargs["ExpressionAttributeNames"] = {placeholder: name for name, placeholder in names.items()}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    if (page_size or limit) is not None:
        kwargs["Limit"] = page_size or limit
    key_names = {a.attr_name for a in _key_attributes(model) + _key_attributes(model, index_name) if a is not None}
    results = Results()
    while True:
        if start:
            kwargs["ExclusiveStartKey"] = start
        data = _send(operation, kwargs, failure)
        for raw in data.get("Items", []):
            results.append(model.from_raw_data(raw))
            if limit is not None and len(results) >= limit:
                more = raw is not data["Items"][-1] or "LastEvaluatedKey" in data
                results.last_evaluated_key = {k: raw[k] for k in key_names} if more else None
                return results
        start = data.get("LastEvaluatedKey")
        if not start:
            return results


class BatchWrite:
    """Puts and deletes of one model, sent in BatchWriteItems of 25 when the block ends (as
    PynamoDB's, even when the block raised); unprocessed items are sent again, up to the
    model's retry attempts (then PutError)."""

    def __init__(self, model: type[PynamoDBModel]):
        self.model = model
        self.requests: list[dict[str, Any]] = []

    def save(self, item: PynamoDBModel) -> None:
        self.requests.append({"PutRequest": {"Item": item.serialize()}})

    def delete(self, item: PynamoDBModel) -> None:
        self.requests.append({"DeleteRequest": {"Key": item.get_delete_kwargs_from_instance()["Key"]}})

    def __enter__(self) -> BatchWrite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.commit()

    def commit(self) -> None:
        table = self.model.Meta.table_name
        requests, self.requests = self.requests, []
        for start in range(0, len(requests), BATCH_WRITE_ITEMS):
            pending = requests[start:start + BATCH_WRITE_ITEMS]
            for _attempt in range(self.model.Meta.max_retry_attempts):
                data = _send("BatchWriteItem", {"RequestItems": {table: pending}}, PutError)
                pending = data.get("UnprocessedItems", {}).get(table, [])
                if not pending:
                    break
            else:
                raise PutError("Failed to batch write items: max_retry_attempts exceeded")


def transaction() -> TransactWrite:
    """A PynamoDB TransactWrite, sent through the container's client."""
    return TransactWrite(connection=_connected())


class Cancelled(Exception):
    """The transaction was cancelled: `failed` names the parts whose condition failed;
    `conflict` says another transaction held one of the items (retry)."""

    def __init__(self, failed: set[str], conflict: bool):
        super().__init__(f"cancelled: {sorted(failed)} conflict={conflict}")
        self.failed = failed
        self.conflict = conflict


class LabelledTransaction:
    """A transaction whose parts carry labels, to read DynamoDB's cancellation reasons."""

    _ORDER = ("check", "delete", "put", "update")  # the order PynamoDB sends them in

    def __init__(self) -> None:
        self.parts: list[tuple[str, str, Model, dict[str, Any]]] = []

    def put(self, label: str, model: Model, condition=None) -> None:
        self.parts.append(("put", label, model, {"condition": condition}))

    def delete(self, label: str, model: Model, condition=None) -> None:
        self.parts.append(("delete", label, model, {"condition": condition}))

    def update(self, label: str, model: Model, actions: list, condition=None) -> None:
        self.parts.append(("update", label, model, {"actions": actions, "condition": condition}))

    def commit(self) -> None:
        labels: list[str] = []
        try:
            with transaction() as tx:
                for kind in self._ORDER:
                    for op, label, model, kwargs in self.parts:
                        if op != kind:
                            continue
                        if op == "put":
                            tx.save(model, **kwargs)
                        elif op == "delete":
                            tx.delete(model, **kwargs)
                        else:
                            tx.update(model, **kwargs)
                        labels.append(label)
        except TransactWriteError as error:
            if not cancelled(error):
                raise
            reasons = error.cancellation_reasons
            failed = {label for label, r in zip(labels, reasons, strict=True)
                      if r is not None and r.code == "ConditionalCheckFailed"}
            conflict = any(r is not None and r.code == "TransactionConflict" for r in reasons)
            raise Cancelled(failed, conflict) from None


# ----- tables, time to live, conditions ------------------------------------------------------

def table_meta(logical_name: str) -> Any:
    """A PynamoDB `Meta` class for a table whose name comes from the environment."""
    env_key = f"TABLE_{logical_name.upper().replace('-', '_')}"

    class Meta(MetaProtocol):
        connect_timeout_seconds = CONNECT_TIMEOUT_S
        read_timeout_seconds = READ_TIMEOUT_S
        max_retry_attempts = MAX_RETRY_ATTEMPTS

    Meta.env_key = env_key  # type: ignore[attr-defined]
    _read_environment(Meta)
    return Meta


def _read_environment(meta: Any) -> None:
    meta.table_name = os.environ.get(meta.env_key, f"missing-{meta.env_key}")
    meta.region, meta.host = aws.dynamodb_endpoint()


def reconnect() -> None:
    """Re-read table names and endpoint from the environment and drop the client, as a new
    Lambda container would (the local stack and tests change the environment under loaded
    modules)."""
    pending = list(Model.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if hasattr(getattr(model, "Meta", None), "env_key"):
            _read_environment(model.Meta)
    aws.forget_dynamodb()


def expires_in(seconds: int) -> int:
    """An epoch-seconds TTL value `seconds` from now."""
    return clock.epoch() + int(seconds)


def expires_at(when: datetime) -> int:
    return int(when.timestamp())


class TTLAttribute(NumberAttribute):
    """Epoch seconds; DynamoDB deletes the item some time after. Readers must still check
    expiry themselves, since deletion can lag by up to two days."""


def condition_failed(error: Exception) -> bool:
    """Whether a PynamoDB write failed on its condition (as opposed to throttling or an
    outage, which the caller must not mistake for "someone else got there first")."""
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def cancelled(error: Exception) -> bool:
    """Whether DynamoDB cancelled a transaction (a condition or a conflict: its reasons say
    which). A transaction error without DynamoDB's answer (a timeout, a lost connection)
    has no response code to read: it is an outage, not a cancellation."""
    return getattr(error, "cause_response_code", None) == "TransactionCanceledException"


def is_live(expires: int | None) -> bool:
    return expires is None or expires > clock.epoch()


__all__ = [
    "Model", "table_meta", "expires_in", "expires_at", "TTLAttribute", "is_live", "condition_failed", "transaction",
    "reconnect", "Results", "LabelledTransaction", "Cancelled",
]

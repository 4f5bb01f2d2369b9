"""De-duplication of WeChat deliveries, and the (timestamp, nonce) records of unsigned
bodies, in the wechat-state table, written with the function's DynamoDB client.

WeChat retries a message it got no answer to within 5 s (three tries in all), possibly to
another instance while the first is still working. The first copy claims the message
(`msg#<key>`) with a conditional put; later copies get the claim back from that put: an
answered message gets the stored reply, one still being processed is waited for. A claim
carries a lease, so a copy may take over only from an instance that has certainly given up
(crashed).

Outside safe mode the signature does not cover the body, so each (timestamp, nonce) is
remembered with a digest of its body for the timestamp window (`nonce#<timestamp>:<nonce>`):
the same body again is a retry, another body under a captured query string is refused. The
nonce record goes in the same write as the claim (one transaction). Items expire through the
table's TTL (`expires_at`).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from botocore.exceptions import ClientError

from functions.common import aws, clock, config
from functions.common.wechat.protocol import NonceReused

KEEP_S = 3600
NONCE_SLACK_S = 60  # past the window, for clocks a little apart


@dataclass(frozen=True)
class Claim:
    """`new`: this copy processes the message; `done`: here is the stored reply;
    `busy`: another copy is processing it."""

    state: Literal["new", "done", "busy"]
    reply: dict | None = None


@dataclass(frozen=True)
class Nonce:
    """A request's (timestamp, nonce) and the digest of the body it came with."""

    timestamp: str
    nonce: str
    body_digest: str


class DeliveryStore:
    """Claims and nonce records. A first delivery costs one write (a conditional put, or a
    transaction of two puts with the nonce record) and one for the reply; a retry, one."""

    def __init__(self, table: str, lease_s: float, window_s: int):
        self.table = table
        self.lease_s = lease_s
        self.window_s = window_s

    @property
    def client(self) -> Any:
        return aws.client("dynamodb")

    def claim(self, key: str, nonce: Nonce | None = None) -> Claim:
        """Claim the message `key` for this copy; with `nonce`, remember it in the same
        write. Raises NonceReused when the nonce came before with another body."""
        put = self._put_new({"pk": {"S": "msg#" + key}, "status": {"S": "processing"},
                             "lease_until": {"N": str(time.time() + self.lease_s)},
                             "expires_at": {"N": str(clock.epoch() + KEEP_S)}})
        if nonce is None:
            try:
                self.client.put_item(**put)
                return Claim("new")
            except ClientError as error:
                return self._existing(key, _failed_condition(error, "ConditionalCheckFailedException").get("Item"))
        try:
            self.client.transact_write_items(TransactItems=[{"Put": put}, {"Put": self._nonce_put(nonce)}])
            return Claim("new")
        except ClientError as error:
            claimed, seen = _failed_condition(error, "TransactionCanceledException")["CancellationReasons"]
        if _failed(seen):
            _same_body(seen.get("Item"), nonce)  # the same query string and body again: a retry
            if not _failed(claimed):  # its claim has expired since
                return self.claim(key)
        else:
            self.remember(nonce)  # another copy of a claimed message, under a nonce of its own
        return self._existing(key, claimed.get("Item"))

    def remember(self, nonce: Nonce) -> None:
        """Remember a nonce alone (the webhook's own answers); NonceReused as above."""
        try:
            self.client.put_item(**self._nonce_put(nonce))
        except ClientError as error:
            _same_body(_failed_condition(error, "ConditionalCheckFailedException").get("Item"), nonce)

    def peek(self, key: str) -> Claim:
        item = self.client.get_item(TableName=self.table, Key={"pk": {"S": "msg#" + key}}, ConsistentRead=True)
        return _claim_of(item.get("Item"))

    def finish(self, key: str, reply: dict) -> None:
        self.client.put_item(TableName=self.table, Item={
            "pk": {"S": "msg#" + key}, "status": {"S": "done"}, "reply": {"S": json.dumps(reply, ensure_ascii=False)},
            "lease_until": {"N": "0"}, "expires_at": {"N": str(clock.epoch() + KEEP_S)}})

    def _existing(self, key: str, item: dict | None) -> Claim:
        """The claim another copy holds: its reply, busy, or taken over once its lease ran
        out unanswered (that copy crashed)."""
        now = time.time()
        if item is None or item.get("status", {}).get("S") == "done" or float(item["lease_until"]["N"]) >= now:
            return _claim_of(item)
        try:
            self.client.update_item(
                TableName=self.table, Key={"pk": {"S": "msg#" + key}},
                UpdateExpression="SET lease_until = :until",
                ConditionExpression="#status = :processing AND lease_until < :now",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":until": {"N": str(now + self.lease_s)}, ":processing": {"S": "processing"},
                                           ":now": {"N": str(now)}})
            return Claim("new")
        except ClientError as error:
            _failed_condition(error, "ConditionalCheckFailedException")
            return self.peek(key)

    def _nonce_put(self, nonce: Nonce) -> dict:
        return self._put_new({"pk": {"S": f"nonce#{nonce.timestamp}:{nonce.nonce}"}, "body": {"S": nonce.body_digest},
                              "expires_at": {"N": str(int(nonce.timestamp) + self.window_s + NONCE_SLACK_S)}})

    def _put_new(self, item: dict) -> dict:
        """A put of an item that must not exist yet; a refusal returns the one that does."""
        return {"TableName": self.table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}


def _failed_condition(error: ClientError, code: str) -> dict:
    """The answer of a write refused by its condition(s); any other error goes on up. A
    transaction refused for anything but conditions (a conflict, a throttle) goes up too."""
    if error.response.get("Error", {}).get("Code") != code:
        raise error
    reasons = error.response.get("CancellationReasons")
    if reasons is not None and not all(r.get("Code") in ("None", "ConditionalCheckFailed") for r in reasons):
        raise error
    return error.response


def _failed(reason: dict) -> bool:
    return reason.get("Code") == "ConditionalCheckFailed"


def _same_body(item: dict | None, nonce: Nonce) -> None:
    if item is None or item.get("body", {}).get("S") != nonce.body_digest:
        raise NonceReused("the nonce came before with another body")


def _claim_of(item: dict | None) -> Claim:
    if item is not None and item.get("status", {}).get("S") == "done":
        return Claim("done", json.loads(item.get("reply", {}).get("S") or "{}"))
    return Claim("busy")


@lru_cache(maxsize=4)
def _store(table: str, lease_s: float, window_s: int) -> DeliveryStore:
    return DeliveryStore(table, lease_s, window_s)


def store() -> DeliveryStore:
    """The container's store, for the settings in force (a claim's lease outlives the
    intent's deadline)."""
    s = config.settings()
    return _store(s.table("wechat_state"), s.intent_deadline_s + 2, s.timestamp_window_s)

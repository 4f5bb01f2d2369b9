"""De-duplication of WeChat deliveries in the wechat-state table.

WeChat retries a message it got no answer to within 5 s (three tries in all), possibly to
another instance while the first is still working. The first copy claims the message with
a conditional put; later copies read the claim: an answered message gets the stored reply,
one still being processed is waited for. A claim carries a lease, so a copy may take over
only from an instance that has certainly given up (crashed). Items expire through the
table's TTL (`expires_at`).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Literal, Protocol

from functions.common import clock, dynamo
from functions.common.once import build_once

KEEP_S = 3600


@dataclass(frozen=True)
class Claim:
    """`new`: this copy processes the message; `done`: here is the stored reply;
    `busy`: another copy is processing it."""

    state: Literal["new", "done", "busy"]
    reply: dict | None = None


class Store(Protocol):
    def claim(self, key: str, lease_s: float) -> Claim: ...

    def peek(self, key: str) -> Claim: ...

    def finish(self, key: str, reply: dict) -> None: ...


@build_once
def _delivery_model():
    """Built on first use (PynamoDB is not on the webhook's import path)."""
    from pynamodb.attributes import NumberAttribute, UnicodeAttribute

    from functions.common.dynamo import Model, TTLAttribute, table_meta

    class Delivery(Model):
        Meta = table_meta("wechat_state")
        pk = UnicodeAttribute(hash_key=True)
        status = UnicodeAttribute()
        reply = UnicodeAttribute(null=True)
        lease_until = NumberAttribute()
        expires_at = TTLAttribute()

    return Delivery



class DynamoStore:
    """The store in AWS and in tests: one conditional put per first delivery (and one
    write for the answer), a put and a consistent read per retry."""

    def claim(self, key: str, lease_s: float) -> Claim:
        from pynamodb.exceptions import PutError, UpdateError

        model = _delivery_model()
        pk = "msg#" + key
        now = time.time()
        try:
            model(pk, status="processing", lease_until=now + lease_s,
                  expires_at=clock.epoch() + KEEP_S).save(condition=model.pk.does_not_exist())
            return Claim("new")
        except PutError as error:
            if not dynamo.condition_failed(error):
                raise
        item = self._item(pk)
        if item is None or item.status == "done" or item.lease_until >= now:
            return self._claim_of(item)
        try:  # the claimant gave up (crashed) without answering: take over
            model(pk).update(actions=[model.lease_until.set(now + lease_s)],
                             condition=(model.status == "processing") & (model.lease_until < now))
            return Claim("new")
        except UpdateError as error:
            if not dynamo.condition_failed(error):
                raise
            return self.peek(key)

    def peek(self, key: str) -> Claim:
        return self._claim_of(self._item("msg#" + key))

    def finish(self, key: str, reply: dict) -> None:
        model = _delivery_model()
        model("msg#" + key, status="done", reply=json.dumps(reply, ensure_ascii=False), lease_until=0,
              expires_at=clock.epoch() + KEEP_S).save()

    @staticmethod
    def _item(pk: str):
        model = _delivery_model()
        try:
            return model.get(pk, consistent_read=True)
        except model.DoesNotExist:
            return None

    @staticmethod
    def _claim_of(item) -> Claim:
        if item is not None and item.status == "done":
            return Claim("done", json.loads(item.reply or "{}"))
        return Claim("busy")

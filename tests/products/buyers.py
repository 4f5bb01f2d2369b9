"""A customer ready to buy (assessed, the agreement accepted), cards in products' projection
as notify's events put them there, and part 2's `actions.place_order` as these tests need it
until the branches are joined: the signature agreed between the two parts, an order per
idempotency key, the amount's field errors and the quota's refusal (tests only)."""
from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field

from functions.common import events
from functions.common.errors import Conflict, FieldError, ValidationFailed
from functions.products import actions, store
from tests.products.conftest import MONDAY_10AM, load, row

ALL_THREES = {f"q{n}": "3" for n in range(1, 11)}  # C3
_at = itertools.count(1)


def ready(openid: str, level_answers: dict[str, str] = ALL_THREES) -> None:
    """Assessed (C3 by default) and the current agreement accepted."""
    if store.current_agreement() is None:
        store.publish_agreement("v1", "第一条 演示协议正文。")
    actions.assess(openid, dict(level_answers))
    current = store.current_agreement()
    actions.accept(openid, {"agree": "true", "version": current.version, "sha256": current.sha256}, "10.0.0.1", "UA")


def card_event(event_type: str, openid: str, ref: str, last4: str = "1234", kind: str = "debit",
               at: str | None = None) -> dict:
    """A card_bound / card_unbound event as notify announces it."""
    at = at or f"2026-11-30T01:{next(_at) % 60:02d}:00Z"
    data = {"openid": openid, "card_ref": ref, "card_last4": last4, "at": at}
    if event_type == "card_bound":
        data |= {"card_kind": kind, "phone_masked": "138****5678"}
    return events.make(event_type, data, "notify", events.card_event_id(event_type, ref, at), events.CUSTOMER_SCHEMAS)


def bind(openid: str, ref: str, last4: str = "1234", kind: str = "debit") -> None:
    assert actions.apply_card_event(card_event("card_bound", openid, ref, last4, kind))


@dataclass
class PlacedOrder:
    order_id: str
    state: str = "PENDING"


@dataclass
class OrderDesk:
    """Part 2's place_order as agreed: one order per (openid, idempotency key)."""

    orders: dict[tuple[str, str], PlacedOrder] = field(default_factory=dict)
    calls: list[tuple] = field(default_factory=list)
    quota_left_fen: int = 10**10

    def place_order(self, openid: str, code: str, amount_fen: int, card_ref: str, card_last4: str,
                    idempotency_key: str) -> PlacedOrder:
        self.calls.append((openid, code, amount_fen, card_ref, card_last4, idempotency_key))
        if (openid, idempotency_key) in self.orders:
            return self.orders[(openid, idempotency_key)]
        product = store.get(code).product()
        if amount_fen < product.min_purchase_fen or amount_fen % product.increment_fen:
            raise ValidationFailed([FieldError("amount", "below_minimum", "购买金额须不低于起购金额并按递增金额递增")])
        if amount_fen > self.quota_left_fen:
            raise Conflict("quota_exhausted", "产品额度已售罄")
        self.quota_left_fen -= amount_fen
        order = self.orders[(openid, idempotency_key)] = PlacedOrder(uuid.uuid4().hex[:16])
        return order


def on_sale(**fields) -> None:
    load(row(**fields))


__all__ = ["MONDAY_10AM", "OrderDesk", "bind", "card_event", "on_sale", "ready"]

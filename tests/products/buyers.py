"""A customer ready to buy (assessed, the agreement accepted), cards in products' projection
as notify's events put them there, and a watch on what the purchase asks of `place_order`."""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from functions.common import events
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
class OrderDesk:
    """What the purchase asks of the real `actions.place_order`, and the orders it placed
    (a spy: every call goes through to products' own tables)."""

    place: Callable[..., store.Order] = actions.place_order
    orders: dict[str, store.Order] = field(default_factory=dict)
    calls: list[tuple] = field(default_factory=list)

    def place_order(self, *args) -> store.Order:
        self.calls.append(args)
        order = self.place(*args)
        self.orders[order.order_id] = order
        return order


def on_sale(**fields) -> None:
    load(row(**fields))


__all__ = ["MONDAY_10AM", "OrderDesk", "bind", "card_event", "on_sale", "ready"]

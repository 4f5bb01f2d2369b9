"""The simulator's core-banking panel: emit what core banking would (a card transaction, a
statement) on the notify queue, for a card the user has bound."""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from werkzeug.exceptions import BadRequest

from functions.common import clock, events, pii

SOURCE = "core_banking"
MAX_FEN = 100_000_000_00  # ¥100,000,000: anything above is a typo


def overview(openid: str) -> dict[str, Any]:
    """The cards bound to `openid` (what the panel can emit for), and the demo cards one
    can bind."""
    from infra.local.simulator import demo

    return {"cards": bound_cards(openid), "demo_customers": demo.cards()}


def bound_cards(openid: str) -> list[dict[str, str]]:
    """Core banking knows its customers' cards; which of them this user bound is notify's
    binding table (read here as core banking would look a customer up, never written)."""
    if not openid:
        return []
    from functions.notify import store

    return [
        {"customer_id": b.customer_id, "card_last4": b.card_last4,
         "label": pii.mask_card(b.card_last4) + ("" if b.active else "（未激活）")}
        for b in store.bindings_of(openid)
    ]


def emit(body: dict[str, Any]) -> dict[str, Any]:
    """Publish one core-banking event from the panel's form; returns the event."""
    kind = body.get("kind")
    customer_id = str(body.get("customer_id") or "").strip()
    card_last4 = str(body.get("card_last4") or "").strip()
    if not customer_id or not (card_last4.isdigit() and len(card_last4) == 4):
        raise BadRequest("请选择已绑定的卡")
    amount_fen = _fen(body.get("amount_yuan"))
    now = clock.now()
    if kind == "transaction":
        data = {
            "customer_id": customer_id,
            "card_last4": card_last4,
            "amount_fen": amount_fen,
            "currency": "CNY",
            "merchant": str(body.get("merchant") or "宁波银泰百货").strip()[:40],
            "cross_border": bool(body.get("cross_border")),
            "card_present": not bool(body.get("card_not_present")),
            "txn_time": clock.iso(now),
        }
        event = events.publish("card_transaction", data, SOURCE)
    elif kind == "statement":
        due = clock.local(now).date() + timedelta(days=int(body.get("due_in_days") or 20))
        data = {
            "customer_id": customer_id,
            "card_last4": card_last4,
            "statement_id": f"ST{clock.local(now):%Y%m}-{card_last4}-{uuid.uuid4().hex[:6]}",
            "amount_due_fen": amount_fen,
            "minimum_due_fen": max(amount_fen // 10, min(amount_fen, 100_00)),
            "due_date": due.isoformat(),
        }
        event = events.publish("statement_issued", data, SOURCE)
    else:
        raise BadRequest("未知的交易类型")
    return {"event": event}


def _fen(value: Any) -> int:
    """Yuan as typed (`88`, `1200.50`, `1,200`) to integer fen."""
    from decimal import Decimal, InvalidOperation

    try:
        amount = Decimal(str(value).replace(",", "").replace("¥", "").strip())
    except InvalidOperation:
        raise BadRequest("金额格式错误") from None
    fen = amount * 100
    if fen != fen.to_integral_value() or not 0 < fen <= MAX_FEN:
        raise BadRequest("金额应大于 0，最多两位小数")
    return int(fen)

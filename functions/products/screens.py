"""What each products page shows: the catalogue with its filters, a product with its
documents and its net value chart, the risk-tolerance questionnaire and the agreement.
Builds template contexts from actions; renders nothing itself. The chart is drawn on the
server as an inline SVG (no script, no style attribute: the pages' CSP allows neither)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from functions.common import clock, money, pages, pii, session
from functions.common.errors import ApiError
from functions.products import actions, service, suitability
from functions.products.service import NetValue

if TYPE_CHECKING:
    from functions.products import store

PAGES = Path(__file__).parent / "pages"
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 320, 140, 8


def render(template: str, **context: Any) -> str:
    return pages.render(PAGES, template, kinds=service.KINDS, risks=service.RISK_LEVELS, terms=service.TERMS,
                        statuses=service.STATUSES, documents=service.DOCUMENTS, **context)


def describe(listed: service.Listed) -> dict[str, Any]:
    """A product as the pages and the JSON API show it."""
    p = listed.product
    return {
        "code": p.code, "name": p.name, "issuer": p.issuer, "kind": p.kind, "kind_name": service.KINDS[p.kind],
        "risk": p.risk, "risk_name": service.RISK_LEVELS[p.risk], "benchmark": service.show_benchmark(p),
        "term_days": p.term_days, "term": service.show_term(p), "min_purchase_fen": p.min_purchase_fen,
        "min_purchase": money.yuan(p.min_purchase_fen), "increment_fen": p.increment_fen,
        "increment": money.yuan(p.increment_fen), "window_start": p.window_start.isoformat(),
        "window_end": p.window_end.isoformat(), "status": p.status, "status_name": service.STATUSES[p.status],
        "nav": service.show_nav(listed.nav_e4) if listed.nav_e4 is not None else None, "nav_date": listed.nav_date,
    }


@dataclass(frozen=True)
class Chart:
    """An SVG polyline of net values in a CHART_WIDTH × CHART_HEIGHT box, with its ends labelled."""

    points: str
    first_day: str
    last_day: str
    low: str
    high: str


def chart(values: list[NetValue]) -> Chart | None:
    """The net value history as a line (None under two points: nothing to draw)."""
    if len(values) < 2:
        return None
    low, high = min(v.nav_e4 for v in values), max(v.nav_e4 for v in values)
    span = (high - low) or 1
    inner_w, inner_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD
    step = inner_w / (len(values) - 1)
    points = " ".join(
        f"{CHART_PAD + i * step:.1f},{CHART_PAD + inner_h - (v.nav_e4 - low) * inner_h / span:.1f}"
        for i, v in enumerate(values))
    return Chart(points, values[0].day.isoformat(), values[-1].day.isoformat(), service.show_nav(low),
                 service.show_nav(high))


def catalogue(query: dict[str, str]) -> str:
    risk, term = service.filters(query)
    found = [describe(listed) for listed in actions.catalogue(risk, term)]
    return render("catalogue.html", products=found, risk=risk, term=term)


def product(code: str, openid: str | None) -> str:
    """A product's page; for a signed-in customer, also whether they may buy it and, if not,
    why and what to do."""
    listed, history = actions.product(code)
    return render("product.html", product=describe(listed), chart=chart(history), width=CHART_WIDTH,
                  height=CHART_HEIGHT, buyer=_buyer(openid, listed.product.risk) if openid else None)


def _buyer(openid: str, risk: str) -> dict[str, Any]:
    found = _standing(openid)
    ready = suitability.readiness(found["level"], found["valid"], actions.has_accepted(openid), risk)
    return {**found, "readiness": ready}


def document(code: str, kind: str) -> str:
    listed, found = actions.document(code, kind)
    return render("document.html", product=describe(listed), document=found, title=service.DOCUMENTS[kind])


def _standing(openid: str) -> dict[str, Any]:
    found = actions.standing(openid)
    now = clock.now()
    return {
        "level": found.level, "level_name": suitability.LEVELS.get(found.level or "", ""), "valid": found.valid,
        "expires": clock.show_time(found.expires) if found.expires else None,
        "expiring": bool(found.valid and found.expires and suitability.expiring_soon(found.expires, now)),
        "may_assess_here": found.may_assess_here,
    }


def assessment(openid: str, notice: str | None = None, error: ApiError | None = None,
               answers: dict[str, str] | None = None) -> str:
    """The questionnaire, with the customer's current level and when it expires; where the
    bank allows a first assessment only at a branch, a link to book a wealth manager."""
    return pages.render(PAGES, "assessment.html", csrf_token=session.csrf_token(openid),
                        questionnaire=suitability.QUESTIONNAIRE, standing=_standing(openid), notice=notice,
                        error=error, answers=answers or {})


def agreement(openid: str, notice: str | None = None, error: ApiError | None = None) -> str:
    current = actions.agreement()
    return pages.render(PAGES, "agreement.html", csrf_token=session.csrf_token(openid), agreement=current,
                        accepted=actions.has_accepted(openid), notice=notice, error=error)


# ----- holdings --------------------------------------------------------------------------------

def describe_order(order: store.Order, name: str) -> dict[str, Any]:
    """An order as the pages and the JSON API show it: its product's `name` with the code, the
    card masked, times in Asia/Shanghai."""
    trade = date.fromisoformat(order.trade_day)
    redemption = order.kind == "redemption"
    return {
        "order_id": order.order_id, "kind": order.kind, "kind_name": service.ORDER_KINDS[order.kind],
        "code": order.code, "name": name,
        "amount_fen": int(order.amount_fen), "amount": money.yuan(int(order.amount_fen)),
        "units": service.show_units(int(order.units_e2)) if order.units_e2 else None,
        "card": pii.mask_card(order.card_last4), "state": order.state,
        "state_name": service.ORDER_STATES[order.state], "reason": order.reason,
        "placed_at": clock.show_time(clock.parse_utc(order.placed_at)), "trade_day": clock.show_date(trade),
        "settles": clock.show_date(service.settlement_day(trade)) if redemption else None,
        "cancellable": service.cancellable(order.state, trade, clock.local()),
    }


def describe_position(position: actions.Position) -> dict[str, Any]:
    return {
        "code": position.code, "name": position.name, "units": service.show_units(position.units_e2),
        "units_e2": position.units_e2, "cost_fen": position.cost_fen, "cost": money.yuan(position.cost_fen),
        "nav": service.show_nav(position.nav_e4), "nav_date": position.nav_date, "value_fen": position.value_fen,
        "value": money.yuan(position.value_fen), "redeemable": position.redeemable,
    }


def mine_model(openid: str) -> dict[str, Any]:
    """我的理财: holdings, then orders, newest first."""
    wealth = actions.mine(openid)
    return {"holdings": [describe_position(p) for p in wealth.positions],
            "orders": [describe_order(o, wealth.names.get(o.code, o.code)) for o in wealth.orders]}


def mine(openid: str, notice: str | None = None, error: ApiError | None = None) -> str:
    return render("mine.html", csrf_token=session.csrf_token(openid), key=uuid.uuid4().hex, notice=notice,
                  error=error, **mine_model(openid))


def order(openid: str, order_id: str, notice: str | None = None, error: ApiError | None = None) -> str:
    found, steps, name = actions.order(openid, order_id)
    return render("order.html", csrf_token=session.csrf_token(openid),
                  order=describe_order(found, name), notice=notice,
                  error=error, steps=[{"state_name": service.ORDER_STATES[s.state], "reason": s.reason,
                                       "at": clock.show_time(clock.parse_utc(s.at))} for s in steps])


# ----- purchase --------------------------------------------------------------------------------

CARD_KINDS = {"debit": "借记卡", "credit": "信用卡"}


def purchase(code: str, openid: str, form: dict[str, str] | None = None, error: ApiError | None = None) -> str:
    """The purchase form, or why the customer may not buy (with the way forward): their bound
    cards (debit ones to choose), the amount, the risk disclosure, the step-up code. The
    idempotency key is made when the form is first shown and kept while it is corrected, so
    a double or retried submit places one order."""
    listed, _ = actions.product(code)
    form = form or {}
    key = form.get("idempotency_key", "")
    cards = [{"ref": c.card_ref, "last4": c.last4, "card": pii.mask_card(c.last4), "phone": c.phone_masked,
              "kind_name": CARD_KINDS.get(c.kind or "", ""), "debit": c.kind == "debit"}
             for c in actions.cards(openid)]
    return pages.render(PAGES, "purchase.html", product=describe(listed), csrf_token=session.csrf_token(openid),
                        readiness=actions.readiness(openid, listed.product), level_name=_standing(openid)["level_name"],
                        cards=cards, debit=any(c["debit"] for c in cards), form=form, error=error,
                        idempotency_key=key if service.IDEMPOTENCY_KEY.fullmatch(key) else uuid.uuid4().hex)

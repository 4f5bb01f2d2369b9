"""`core-banking ...`: publish what core banking would on the notify queue (a card payment,
a statement, a payment received) for a demo customer's card."""
from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import typer
from rich.console import Console

app = typer.Typer(help="Core-banking events on the notify queue.", no_args_is_help=True, add_completion=False)
console = Console()
SOURCE = "core_banking"


@app.callback()
def core_banking() -> None:
    """Core-banking events (a group, so each event stays a subcommand however it is mounted)."""


def _card(customer_id: str, last4: str | None) -> str:
    from functions.notify import corebank

    cards = corebank.cards_of(customer_id)
    if not cards:
        raise typer.BadParameter(f"no cards for customer {customer_id}", param_hint="CUSTOMER_ID")
    if last4 is None:
        return cards[0].last4
    if last4 not in {c.last4 for c in cards}:
        raise typer.BadParameter(f"{customer_id} has no card ending {last4}", param_hint="--card")
    return last4


def _fen(yuan: float) -> int:
    return int(round(yuan * 100))


def _publish(kind: str, data: dict, event_id: str | None) -> None:
    from functions.common import events

    event = events.publish(kind, data, SOURCE, event_id=event_id or uuid.uuid4().hex)
    console.print_json(json.dumps(event, ensure_ascii=False))


@app.command()
def transaction(
    customer_id: str = typer.Argument(..., help="e.g. C10001 (see infra/local/demo/notify.py)"),
    card: str = typer.Option(None, "--card", help="Last four digits; the customer's first card by default."),
    amount: float = typer.Option(35.0, help="Yuan."),
    merchant: str = typer.Option("宁波天一广场", help="Merchant name."),
    cross_border: bool = typer.Option(False, "--cross-border"),
    card_not_present: bool = typer.Option(False, "--card-not-present", help="Online / phone payment."),
    event_id: str = typer.Option(None, help="Reuse an id to play a duplicate publish."),
) -> None:
    """Publish a card_transaction."""
    from functions.common import clock

    _publish("card_transaction", {
        "customer_id": customer_id, "card_last4": _card(customer_id, card), "amount_fen": _fen(amount),
        "currency": "CNY", "merchant": merchant, "cross_border": cross_border, "card_present": not card_not_present,
        "txn_time": clock.iso(clock.now()),
    }, event_id)


@app.command()
def statement(
    customer_id: str = typer.Argument(...),
    card: str = typer.Option(None, "--card"),
    amount_due: float = typer.Option(3568.80, help="Yuan."),
    minimum_due: float = typer.Option(None, help="Yuan; a tenth of the amount due by default."),
    due_in_days: int = typer.Option(3, help="Due date, days from today (Asia/Shanghai)."),
    statement_id: str = typer.Option(None),
    event_id: str = typer.Option(None),
) -> None:
    """Publish a statement_issued."""
    from functions.common import clock

    due: date = clock.local().date() + timedelta(days=due_in_days)
    minimum = _fen(minimum_due) if minimum_due is not None else _fen(amount_due) // 10
    _publish("statement_issued", {
        "customer_id": customer_id, "card_last4": _card(customer_id, card),
        "statement_id": statement_id or f"S{due:%Y%m}", "amount_due_fen": _fen(amount_due),
        "minimum_due_fen": minimum, "due_date": due.isoformat(),
    }, event_id)


@app.command()
def payment(
    customer_id: str = typer.Argument(...),
    statement_id: str = typer.Argument(..., help="The statement paid (see `statement`)."),
    card: str = typer.Option(None, "--card"),
    amount: float = typer.Option(..., help="Yuan."),
    event_id: str = typer.Option(None),
) -> None:
    """Publish a payment_received."""
    _publish("payment_received", {
        "customer_id": customer_id, "card_last4": _card(customer_id, card), "statement_id": statement_id,
        "amount_fen": _fen(amount),
    }, event_id)

"""The demo data and the core-banking command, against moto."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from functions.notify import corebank, store
from infra.cli import core_banking
from infra.local.demo import notify as demo


def test_demo_load_is_idempotent_and_binds_the_demo_openid(aws):
    assert demo.load() == demo.load() == 5
    [binding] = store.bindings_of("o_demo_customer")
    number = demo.CUSTOMERS[0][3][0]
    assert binding.card_last4 == number[-4:]
    assert corebank.find_card(corebank.card_hash(number)).customer_id == "C10001"
    assert store.latest_statement("C10001", number[-4:]).amount_due_fen == 356_880


def test_cli_publishes_valid_events(aws, queue):
    demo.load()
    runner = CliRunner()
    result = runner.invoke(core_banking.app, ["transaction", "C10001", "--amount", "512.5", "--cross-border"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(core_banking.app, ["statement", "C10002"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(core_banking.app, ["payment", "C10002", "S202601", "--amount", "100"])
    assert result.exit_code == 0, result.output
    bodies = [json.loads(m["Body"]) for m in queue.receive()]
    assert [b["type"] for b in sorted(bodies, key=lambda b: b["type"])] == [
        "card_transaction", "payment_received", "statement_issued"]
    txn = next(b for b in bodies if b["type"] == "card_transaction")
    assert txn["data"]["amount_fen"] == 51250 and txn["data"]["cross_border"] is True
    result = runner.invoke(core_banking.app, ["transaction", "C10001", "--card", "0000"])
    assert result.exit_code != 0

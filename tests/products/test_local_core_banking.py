"""The local stack's core banking (infra/local/core_banking.py) answers orders as the bank
would: CONFIRMED, FAILED (余额不足) above the demo balance, the first answer again for a
resent order, none for an order cancelled before it settled."""
from __future__ import annotations

import pytest

from functions.products import actions, store
from infra.local.core_banking import DEMO_BALANCE_FEN, FakeCoreBanking
from tests.aws_clients import clients
from tests.products.conftest import load, place, row


@pytest.fixture
def bank(shop):
    return FakeCoreBanking(clients.client("sqs"), shop["ProductsOrdersQueue"]["Ref"],
                           shop["ProductsOrderResultsQueue"]["Ref"])


def test_confirms_fails_above_the_balance_and_skips_the_cancelled(shop, results, bank):
    load(row(code="WM0200", min_purchase_fen=100, increment_fen=100, quota_fen=10 * DEMO_BALANCE_FEN))
    paid = place(code="WM0200", amount_fen=DEMO_BALANCE_FEN, key="a" * 32)
    short = place(code="WM0200", amount_fen=DEMO_BALANCE_FEN + 100, key="b" * 32)
    dropped = place(code="WM0200", amount_fen=100, key="c" * 32)
    actions.cancel_order("o1", dropped.order_id)
    place(code="WM0200", amount_fen=DEMO_BALANCE_FEN, key="a" * 32)  # a retried request: sent again
    assert bank.settle() == 3
    results.drain()
    assert store.get_order(paid.order_id).state == "CONFIRMED"
    failed = store.get_order(short.order_id)
    assert (failed.state, failed.reason) == ("FAILED", "余额不足")
    assert store.get_order(dropped.order_id).state == "CANCELLED"
    assert results.dead_letters() == [] and bank.settle() == 0

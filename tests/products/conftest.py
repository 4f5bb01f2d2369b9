"""products' fixtures: a catalogue row as the import reads it, a moto account with the
clock at a named time, and the Chalice test client."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.booking.conftest import atomic_moto  # noqa: F401 - lines transactions up for races

# Monday 2026-11-30, 10:00 in Ningbo
MONDAY_10AM = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def row(**fields) -> dict:
    """A valid import row (JSON types); `fields` replace or add columns."""
    base = {
        "code": "WM0091", "name": "稳享91天", "issuer": "甬城理财", "kind": "fixed", "risk": "R2",
        "benchmark_low_bp": 230, "benchmark_high_bp": 290, "term_days": 91, "min_purchase_fen": 100_000,
        "increment_fen": 100_000, "quota_fen": 10_000_000_00, "window_start": "2026-11-01",
        "window_end": "2026-12-31", "status": "on_sale", "documents_version": "v1",
        "prospectus": "说明书正文", "risk_disclosure": "风险揭示书正文", "sales_agreement": "销售协议正文",
    }
    base.update(fields)
    return base


@pytest.fixture
def world(aws, frozen_clock):
    """Clock at Monday 10:00 in Ningbo; an empty catalogue."""
    frozen_clock(MONDAY_10AM)
    return aws


def load(*rows: dict) -> None:
    from functions.products import actions, service

    products, rejected = service.read_catalogue(rows)
    assert not rejected, rejected
    actions.import_catalogue(products)


@pytest.fixture
def client():
    from chalice.test import Client

    from functions.products.app import app

    with Client(app) as c:
        yield c


def buyer(openid: str, answer: str = "3") -> None:
    """A customer assessed (every answer `answer`: "3" is C3, "5" is C5) who accepted the
    agreement's current version (published if none is)."""
    from functions.products import actions, store, suitability

    if store.current_agreement() is None:
        store.publish_agreement("v1", "理财服务协议正文")
    actions.assess(openid, {q.id: answer for q in suitability.QUESTIONNAIRE.questions})
    current = store.current_agreement()
    assert current is not None
    actions.accept(openid, {"agree": "true", "version": current.version, "sha256": current.sha256}, "127.0.0.1", "UA")


@pytest.fixture
def shop(world):
    """On sale: WM0091 (R2, fixed term, from ¥1,000.00), WM0100 (R2, open-ended, from ¥1.00)
    and WM0500 (R5, open-ended); o1 is a C3 customer who accepted the agreement."""
    load(row(), row(code="WM0100", kind="open", term_days=0, min_purchase_fen=100, increment_fen=1),
         row(code="WM0500", name="进取500", risk="R5", kind="open", term_days=0, quota_fen=1_000_000))
    buyer("o1")
    return world


@pytest.fixture
def results(shop):
    """products-order-results, delivered to productsOrderResults as Lambda would."""
    from tests.notify.conftest import Queue

    return Queue(shop, "ProductsOrderResultsQueue", "productsOrderResults")


KEY = "k" * 32


def place(openid: str = "o1", code: str = "WM0091", amount_fen: int = 200_000, key: str = KEY, **card: str):
    """actions.place_order as the purchase form calls it, with a verified card."""
    from functions.products import actions

    return actions.place_order(openid, code, amount_fen, card.get("card_ref", "card-ref-1"),
                               card.get("card_last4", "5678"), key)

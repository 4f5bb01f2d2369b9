"""booking's fixtures: branches seeded through branch_lookup's demo loader (so branch data
reaches booking through the real branchLookupQuery), a roster in booking's table, the
Chalice test client and customer sessions."""
from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from functions.common import staff as roles
from tests.sessions import customer  # noqa: F401 - booking's tests sign customers in with it
from tests.staff_tokens import member, signed_in

UTC = UTC
WEEKDAY = [["09:00", "12:00"], ["13:30", "17:00"]]
# Monday 2026-11-30, 08:00 in Ningbo
MONDAY_8AM = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
# Tuesday 2026-12-01 09:00 and 09:30 in Ningbo
TUE_0900 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
TUE_0930 = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)


def branch(branch_id: str = "T01", **extra) -> dict:
    out = {
        "id": branch_id, "name": f"测试支行{branch_id}", "kind": "branch", "address": "宁波市鄞州区测试路1号",
        "district": "鄞州区", "city": "宁波市", "phone": "0574-88888888", "lat": 29.82, "lng": 121.55,
        "services": ["cash", "wealth", "loans", "fx"], "bookable": True,
        "hours": {"mon": WEEKDAY, "tue": WEEKDAY, "wed": WEEKDAY, "thu": WEEKDAY, "fri": WEEKDAY,
                  "sat": [["09:00", "12:00"]], "sun": []},
        "exceptions": [{"date": "2026-12-02", "hours": [], "note": "盘点休息"}],
    }
    out.update(extra)
    return out


@pytest.fixture
def world(aws, frozen_clock):
    """Clock at Monday 08:00 in Ningbo; branch T01 with one wealth manager (m1) and one
    manager for loans and fx (m2); branch T02 is not bookable."""
    from functions.booking import store
    from functions.booking.service import Manager
    from infra.local.demo import branch_lookup

    frozen_clock(MONDAY_8AM)
    branch_lookup.load(branches=[branch("T01"), branch("T02", bookable=False)])
    store.put_manager("T01", Manager("m1", "王芳", frozenset({"wealth", "account"})))
    store.put_manager("T01", Manager("m2", "李强", frozenset({"loans", "fx"})))
    store.put_manager("T02", Manager("m9", "赵敏", frozenset({"wealth"})))
    return aws


@pytest.fixture
def client():
    from chalice.test import Client

    from functions.booking.app import app

    with Client(app) as c:
        yield c


def staff(branch: str | None = "T01", username: str = "manager-1") -> dict[str, str]:
    """A customer manager of `branch` (None: a member of staff without a branch claim)."""
    return signed_in(username, roles.CUSTOMER_MANAGER, branch=branch).headers


def form(**fields) -> dict:
    base = {"branch_id": "T01", "service": "wealth", "slot_start": "2026-12-01T01:00:00Z", "name": "张三",
            "mobile": "13812345678", "note": "想了解理财产品"}
    base.update(fields)
    return base


class Gate:
    """Holds the next n DynamoDB transactions until all n have arrived, so that their reads
    are done before any of them writes: the race is certain, not left to the scheduler."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.barrier: threading.Barrier | None = None
        self.waiting = 0

    def gate(self, n: int) -> None:
        self.barrier, self.waiting = threading.Barrier(n, timeout=20), n

    def around(self, dispatch):
        def gated(handler, *args, **kwargs):
            if self.barrier is not None and handler._get_action() == "TransactWriteItems":
                with self.lock:
                    barrier, self.waiting = (self.barrier, self.waiting - 1) if self.waiting > 0 else (None, 0)
                if barrier is not None:
                    barrier.wait()
            return dispatch(handler, *args, **kwargs)

        return gated


@pytest.fixture
def atomic_moto(monkeypatch):
    """A gate to line transactions up (moto already applies each request atomically, as
    DynamoDB does: tests/conftest.py)."""
    from moto.dynamodb.responses import DynamoHandler

    gate = Gate()
    monkeypatch.setattr(DynamoHandler, "call_action", gate.around(DynamoHandler.call_action))
    return gate


MANAGER = member("manager-1", roles.CUSTOMER_MANAGER, "T01")  # a customer manager of branch T01

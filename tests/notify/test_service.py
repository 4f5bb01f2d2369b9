"""The policy in plain Python: quiet hours, SMS rules, who hears of what."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from functions.notify import service

POLICY = service.Policy()


def at(hour, minute=0, day=2):
    """A UTC instant for a Ningbo wall time on 2026-03-<day>."""
    from functions.common import clock

    return datetime(2026, 3, day, hour, minute, tzinfo=clock.SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize("local,until", [
    ((21, 0), at(8, 0, day=3)), ((23, 59), at(8, 0, day=3)), ((0, 0), at(8, 0)), ((7, 59), at(8, 0)),
    ((8, 0), None), ((12, 0), None), ((20, 59), None),
])
def test_quiet_hours(local, until):
    assert POLICY.quiet_until(at(*local)) == until


def event(kind, **data):
    return {"id": "e1", "type": kind, "data": data}


def txn(amount=100, cross_border=False, card_present=True):
    return event("card_transaction", amount_fen=amount, cross_border=cross_border, card_present=card_present)


def test_card_transaction_branches():
    noon = at(12)
    assert service.plan(txn(), ["o1"], noon, POLICY) == service.Plan("card_transaction", ["o1"], "fallback")
    assert service.plan(txn(30000), ["o1"], noon, POLICY).sms == "always"
    assert service.plan(txn(cross_border=True), ["o1"], noon, POLICY).sms == "always"
    assert service.plan(txn(card_present=False), ["o1"], noon, POLICY).sms == "always"
    assert service.plan(txn(), [], noon, POLICY) == service.Plan("card_transaction", [], "always")
    assert service.plan(txn(), ["o1"], at(23), POLICY).wait_until is None  # urgent


def test_non_urgent_messages_wait_for_the_morning():
    plan = service.plan(event("statement_issued"), ["o1"], at(22), POLICY)
    assert plan.wait_until == at(8, 0, day=3) and plan.openids == []


def test_events_naming_an_openid_go_to_it():
    plan = service.plan(event("booking_confirmed", openid="o9"), [], at(10), POLICY)
    assert plan.openids == ["o9"] and plan.sms == "never"


def test_reminder_dates():
    assert service.reminder_dates(date(2026, 3, 30)) == {"2026-04-02": 3, "2026-03-30": 0}


def test_backoff_grows_and_is_capped():
    assert [service.backoff_s(n) for n in (1, 2, 3)] == [10, 20, 40]
    assert service.backoff_s(50) == 900


def test_only_well_formed_delivery_reports_are_kept():
    from functions.notify.service import is_delivery_report

    assert is_delivery_report("200163836", "success")
    assert is_delivery_report("200163836", "failed:user block")
    assert not is_delivery_report("abc", "success")
    assert not is_delivery_report("9" * 40, "success")
    assert not is_delivery_report("200163836", "{'x': 'y'}")
    assert not is_delivery_report("", "success")

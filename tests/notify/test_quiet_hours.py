"""Quiet hours (21:00-08:00 in Ningbo) hold reminders and notices, never what the customer
has just done: a booking made at 23:00 is confirmed at 23:00, its reminder waits for the
morning. Held messages go out in the order they happened, one person's after another."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.common import clock, events
from functions.notify import actions, app, store
from tests.notify.conftest import sqs_event

AT_2300 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 23:00 in Ningbo
AT_0800 = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # the end of the quiet hours


def booking(kind: str, openid: str, booking_id: str = "B1") -> dict:
    return events.make(kind, {"openid": openid, "booking_id": booking_id, "branch_name": "天一广场支行",
                              "service": "个人贷款咨询", "slot_start": "2026-03-03T01:00:00Z", "manager": "李经理"},
                       "booking", event_id=events.booking_event_id(kind, booking_id, clock.iso(clock.now())
                                                                   if kind != "booking_cancelled" else ""))


def loan(status: str, openid: str, application_id: str = "LA1") -> dict:
    return events.make("loan_status_changed", {"openid": openid, "application_id": application_id,
                                               "product": "个人消费贷款", "status": status, "reason": ""},
                       "loan_apply", event_id=f"loan:{application_id}:{status}")


def titles(fake, openid: str) -> list[str]:
    return [m.payload["data"].get("phrase3", {}).get("value") or m.payload["template_id"]
            for m in fake.sent() if m.kind == "template" and m.payload["touser"] == openid]


@pytest.mark.parametrize("make", [
    lambda: booking("booking_confirmed", "o_late"),
    lambda: booking("booking_rescheduled", "o_late"),
    lambda: booking("booking_cancelled", "o_late"),
    lambda: loan("SUBMITTED", "o_late"),
    lambda: loan("WITHDRAWN", "o_late"),
], ids=["booked", "moved", "cancelled", "applied", "withdrawn"])
def test_a_confirmation_at_2300_is_sent_at_once(fake_wechat_api, frozen_clock, make):
    frozen_clock(AT_2300)
    assert app.events(sqs_event(make()), None) == {"batchItemFailures": []}
    assert len([m for m in fake_wechat_api.sent() if m.kind == "template"]) == 1
    assert store.all_pending() == []


@pytest.mark.parametrize("make", [
    lambda: booking("booking_reminder", "o_late"),
    lambda: loan("APPROVED", "o_late"),
], ids=["reminder", "decision"])
def test_a_reminder_or_notice_at_2300_waits_for_0800(fake_wechat_api, frozen_clock, make):
    frozen_clock(AT_2300)
    app.events(sqs_event(make()), None)
    assert [m for m in fake_wechat_api.sent() if m.kind == "template"] == []
    [held] = store.all_pending()
    assert held.due_at == AT_0800 and held.reason == "quiet_hours"
    frozen_clock(AT_0800)
    assert actions.flush_pending()["due"] == 1
    assert len([m for m in fake_wechat_api.sent() if m.kind == "template"]) == 1


def test_a_reminder_held_overnight_for_a_booking_cancelled_since_is_dropped(fake_wechat_api, frozen_clock):
    frozen_clock(AT_2300)
    app.events(sqs_event(booking("booking_reminder", "o_changed_mind")), None)
    frozen_clock(AT_2300.replace(minute=5))
    app.events(sqs_event(booking("booking_cancelled", "o_changed_mind")), None)
    frozen_clock(AT_0800)
    assert actions.flush_pending()["due"] == 1
    assert titles(fake_wechat_api, "o_changed_mind") == [
        m.payload["template_id"] for m in fake_wechat_api.sent() if m.kind == "template"]
    assert len(titles(fake_wechat_api, "o_changed_mind")) == 1  # the cancellation only
    assert store.all_pending() == []


def test_one_customers_held_messages_go_out_in_the_order_they_happened(fake_wechat_api, frozen_clock):
    statuses = ["UNDER_REVIEW", "APPROVED", "REJECTED"]  # not a real workflow: three held notices in a row
    for minute, status in enumerate(statuses):
        frozen_clock(AT_2300.replace(minute=minute))
        app.events(sqs_event(loan(status, "o_order", application_id=f"LA{minute}")), None)
        frozen_clock(AT_2300.replace(minute=10 + minute))
        app.events(sqs_event(loan(status, "o_other", application_id=f"LB{minute}")), None)
    assert len(store.all_pending()) == 6
    # the first of each customer's messages is the slowest to send: without an order it is overtaken
    fake_wechat_api.inject("message/template/send", latency=0.2, count=2)
    frozen_clock(AT_0800)
    actions.flush_pending()
    labels = {"UNDER_REVIEW": "审核中", "APPROVED": "已通过", "REJECTED": "未通过"}
    assert titles(fake_wechat_api, "o_order") == [labels[s] for s in statuses]
    assert titles(fake_wechat_api, "o_other") == [labels[s] for s in statuses]


def test_quiet_hours_set_in_the_shell_reach_make_run(monkeypatch):
    """`NOTIFY_QUIET_START=22:30 make run`: the stack's functions hold messages from 22:30."""
    from functions.common import config
    from infra.local.stack import LocalStack

    monkeypatch.setenv("NOTIFY_QUIET_START", "22:30")
    monkeypatch.setenv("NOTIFY_QUIET_END", "07:15")
    with LocalStack(port=0, demo=False, schedules=False, queues=False, inherit_env=True) as stack:
        assert (stack.environment["NOTIFY_QUIET_START"], stack.environment["NOTIFY_QUIET_END"]) == ("22:30", "07:15")
        config.reset()
        settings = config.settings()
        assert (settings.notify_quiet_start.isoformat(), settings.notify_quiet_end.isoformat()) == ("22:30:00",
                                                                                                      "07:15:00")
    config.reset()

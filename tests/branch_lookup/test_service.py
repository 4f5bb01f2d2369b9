"""Opening hours: open now / opens at / closed today, in Asia/Shanghai wall time whatever the
server's zone."""
from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from functions.branch_lookup import service
from tests.branch_lookup.conftest import make_branch


def at_shanghai(text: str) -> datetime:
    """An instant given as Ningbo wall time."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def server_in_utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


BRANCH = make_branch("H1", 29.87, 121.55, exceptions=[
    {"date": "2026-10-01", "hours": [], "note": "国庆节休息"},
    {"date": "2026-10-10", "hours": [["09:00", "12:00"]], "note": "调休上班"},  # a Saturday
])
ATM = make_branch("A1", 29.87, 121.55, kind="self_service",
                  hours={d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})


@pytest.mark.parametrize(("local", "state", "time_", "label"), [
    ("2026-03-02 08:59:59", "later", "09:00", "今日09:00开始营业"),  # Monday before opening
    ("2026-03-02 09:00:00", "open", "12:00", "营业中，12:00结束"),
    ("2026-03-02 11:59:59", "open", "12:00", "营业中，12:00结束"),
    ("2026-03-02 12:00:00", "later", "13:30", "今日13:30开始营业"),  # lunch break
    ("2026-03-02 13:29:00", "later", "13:30", "今日13:30开始营业"),
    ("2026-03-02 13:30:00", "open", "17:00", "营业中，17:00结束"),
    ("2026-03-02 17:00:00", "closed", "", "今日已停止营业"),
    ("2026-03-07 10:00:00", "closed", "", "今日已停止营业"),  # Saturday: no hours
    ("2026-10-01 10:00:00", "closed", "", "今日已停止营业（国庆节休息）"),  # holiday on a Thursday
    ("2026-10-10 10:00:00", "open", "12:00", "营业中，12:00结束（调休上班）"),  # special opening on a Saturday
])
def test_status_at_shanghai_times(local, state, time_, label, frozen_clock, server_in_utc):
    frozen_clock(at_shanghai(local))
    status = service.opening_status(BRANCH)
    assert (status.state, status.time, status.label()) == (state, time_, label)


def test_the_shanghai_date_decides_not_the_utc_date(frozen_clock, server_in_utc):
    # 2026-09-30 16:30 UTC is already 1 October 00:30 in Ningbo: the holiday applies
    frozen_clock(datetime(2026, 9, 30, 16, 30, tzinfo=UTC))
    assert os.environ["TZ"] == "UTC"
    assert service.opening_status(BRANCH).note == "国庆节休息"
    # 2026-03-02 01:30 UTC is Monday 09:30 in Ningbo: open, although UTC says 01:30
    frozen_clock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    assert service.opening_status(BRANCH).open


@pytest.mark.parametrize("local", ["2026-03-02 23:59:59", "2026-03-03 00:00:00", "2026-03-08 00:00:01"])
def test_round_the_clock_is_open_across_midnight(local, frozen_clock):
    frozen_clock(at_shanghai(local))
    status = service.opening_status(ATM)
    assert status.open and status.label() == "24小时营业"


def test_a_branch_open_until_midnight_is_closed_after_it(frozen_clock):
    late = make_branch("L1", 29.87, 121.55, hours={"mon": [["18:00", "24:00"]], "tue": [["09:00", "10:00"]]})
    frozen_clock(at_shanghai("2026-03-02 23:59:00"))
    assert service.opening_status(late).label() == "营业中，24:00结束"
    frozen_clock(at_shanghai("2026-03-03 00:00:00"))
    assert service.opening_status(late).label() == "今日09:00开始营业"


def test_week_starts_today_and_applies_exceptions(frozen_clock):
    frozen_clock(at_shanghai("2026-09-28 10:00:00"))  # Monday
    week = service.opening_week(BRANCH)
    assert week[0]["today"] and week[0]["date"].isoformat() == "2026-09-28" and not any(d["today"] for d in week[1:])
    assert week[3]["intervals"] == [] and week[3]["note"] == "国庆节休息"  # Thursday 1 October
    assert week[0]["intervals"] == ["09:00-12:00", "13:30-17:00"]

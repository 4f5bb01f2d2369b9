"""Schedules: EventBridge's cron and rate expressions read in the schedule's time zone
(Asia/Shanghai: UTC+8 all year, no DST), and firing one now."""
from __future__ import annotations

import os
import queue
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from typer.testing import CliRunner

from functions.common import clock
from infra.local.schedules import Cron, InvalidExpression, Rate, Schedule, Scheduler, schedules_from
from tests.infra.test_local_fixture_app import CALLS, fixture_stack


def shanghai_schedule(expression, **kw):
    return Schedule(name="s", function="f", expressions=[Cron.parse(expression)], timezone="Asia/Shanghai", **kw)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("instant", [utc(2026, 1, 15, 2, 0), utc(2026, 7, 15, 2, 0)])
def test_ten_oclock_in_shanghai_is_two_utc_in_winter_and_summer(instant):
    schedule = shanghai_schedule("cron(0 10 * * ? *)")
    assert schedule.due(instant)
    assert not schedule.due(instant + timedelta(hours=1))
    assert not schedule.due(instant - timedelta(hours=8))  # 10:00 UTC is 18:00 in Shanghai


def test_a_morning_cron_fires_the_previous_utc_day():
    schedule = shanghai_schedule("cron(30 0 1 * ? *)")  # 00:30 on the 1st, Shanghai
    assert schedule.due(utc(2026, 2, 28, 16, 30))  # 28 Feb 16:30 UTC = 1 Mar 00:30 +08
    assert not schedule.due(utc(2026, 3, 1, 16, 30))
    assert schedule.next_fire(utc(2026, 2, 20)) == utc(2026, 2, 28, 16, 30)


def test_day_of_week_is_read_on_the_shanghai_date():
    schedule = shanghai_schedule("cron(0 7 ? * MON *)")
    sunday_utc = utc(2026, 11, 29, 23, 0)  # Monday 07:00 in Shanghai
    assert sunday_utc.weekday() == 6 and schedule.due(sunday_utc)
    assert not schedule.due(utc(2026, 11, 30, 23, 0))


def test_same_expression_in_utc_fires_eight_hours_later():
    in_utc = Schedule(name="u", function="f", expressions=[Cron.parse("cron(0 10 * * ? *)")])
    assert in_utc.due(utc(2026, 5, 1, 10, 0)) and not in_utc.due(utc(2026, 5, 1, 2, 0))


@pytest.mark.parametrize("expression,day,expected", [
    ("cron(0 0 L * ? *)", date(2028, 2, 29), True),
    ("cron(0 0 L * ? *)", date(2028, 2, 28), False),
    ("cron(0 0 LW * ? *)", date(2026, 5, 29), True),  # 31 May 2026 is a Sunday
    ("cron(0 0 15W * ? *)", date(2026, 8, 14), True),  # 15 Aug 2026 is a Saturday
    ("cron(0 0 1W * ? *)", date(2026, 8, 3), True),  # 1 Aug 2026 is a Saturday: Monday the 3rd
    ("cron(0 0 ? * 6L *)", date(2026, 11, 27), True),  # last Friday
    ("cron(0 0 ? * 6L *)", date(2026, 11, 20), False),
    ("cron(0 0 ? * 2#1 *)", date(2026, 12, 7), True),  # first Monday
    ("cron(0 0 ? * MON#2 *)", date(2026, 12, 7), False),
    ("cron(0 0 ? * 1 *)", date(2026, 11, 29), True),  # 1 = Sunday
    ("cron(0 0 ? * FRI-MON *)", date(2026, 11, 29), True),  # a range that wraps
    ("cron(0 0 ? * FRI-MON *)", date(2026, 11, 25), False),
    ("cron(0 0 */10 * ? *)", date(2026, 3, 21), True),
    ("cron(0 0 */10 * ? *)", date(2026, 3, 20), False),
    ("cron(0 0 1 JAN,JUL ? 2026-2027)", date(2027, 7, 1), True),
    ("cron(0 0 1 JAN,JUL ? 2026-2027)", date(2028, 1, 1), False),
])
def test_day_fields(expression, day, expected):
    assert Cron.parse(expression).day_matches(day) is expected


def test_minute_and_hour_lists_ranges_and_steps():
    cron = Cron.parse("cron(0/15 9-17 ? * MON-FRI *)")
    assert cron.matches(datetime(2026, 12, 1, 9, 45)) and cron.matches(datetime(2026, 12, 1, 17, 0))
    assert not cron.matches(datetime(2026, 12, 1, 9, 50)) and not cron.matches(datetime(2026, 12, 5, 10, 0))


@pytest.mark.parametrize("bad", ["cron(0 10 * * * *)", "cron(0 10 ? * ? *)", "cron(0 10 * *)", "cron(61 0 * * ? *)",
                                 "cron(0 0 ? * 8 *)", "cron(0 0 ? * 2#6 *)", "rate(0 minutes)", "rate(5 weeks)"])
def test_invalid_expressions_are_refused(bad):
    with pytest.raises(InvalidExpression):
        Cron.parse(bad) if bad.startswith("cron") else Rate.parse(bad)


def test_rate_counts_from_the_anchor():
    anchor = utc(2026, 1, 1, 0, 0)
    schedule = Schedule(name="r", function="f", expressions=[Rate.parse("rate(10 minutes)")], anchor=anchor)
    assert not schedule.due(anchor)
    assert schedule.due(anchor + timedelta(minutes=10)) and not schedule.due(anchor + timedelta(minutes=15))
    assert schedule.next_fire(anchor + timedelta(minutes=12)) == anchor + timedelta(minutes=20)


def test_schedules_are_read_from_serverless_yml():
    from infra.local import slsconfig
    from tests.infra.test_local_fixture_app import FIXTURE_YML

    found = {s.name: s for s in schedules_from(slsconfig.load("local", str(FIXTURE_YML)))}
    morning = found["fixture-morning"]
    assert morning.function == "tick" and morning.timezone == "Asia/Shanghai" and morning.input == {"job": "morning"}
    assert found["tick-schedule-2"].timezone == "UTC"
    assert isinstance(found["tick-schedule-2"].expressions[0], Rate)


def test_the_scheduler_fires_what_is_due_at_a_minute():
    schedules = [shanghai_schedule("cron(30 8 ? * MON-FRI *)")]
    scheduler = Scheduler(schedules, fire=lambda s: None)
    assert scheduler.due(utc(2026, 12, 1, 0, 30)) == schedules  # Tuesday 08:30 in Shanghai
    assert scheduler.due(utc(2026, 12, 5, 0, 30)) == []  # Saturday


@pytest.fixture
def real_clock_after():
    """The clock as this process was started (the real one, unless CLOCK_AT was given)."""
    yield
    clock.start_from(os.environ)


def test_the_scheduler_runs_on_the_functions_clock(real_clock_after):
    """A stack whose clock says 17:59:59.8 fires the 18:00 schedule 0.2 s later; moved, it
    goes on from the minute the clock lands in and skips the time it jumped over."""
    at = queue.Queue()
    six, seven = shanghai_schedule("cron(0 18 * * ? *)"), shanghai_schedule("cron(0 19 * * ? *)")
    every_ten = Schedule(name="r", function="f", expressions=[Rate.parse("rate(10 minutes)")])
    scheduler = Scheduler([six, seven, every_ten],
                          fire=lambda s: at.put((s.expressions[0].expression, clock.local().strftime("%d %H:%M"))))
    clock.set_at(datetime(2026, 11, 16, 17, 59, 59, 800_000, tzinfo=clock.SHANGHAI))
    scheduler.start()
    try:
        assert at.get(timeout=10) == ("cron(0 18 * * ? *)", "16 18:00")
        clock.set_at(datetime(2026, 11, 17, 19, 0, tzinfo=clock.SHANGHAI))  # over the 17th's 18:00
        scheduler.moved()
        assert at.get(timeout=10) == ("cron(0 19 * * ? *)", "17 19:00")
        assert every_ten.anchor == datetime(2026, 11, 17, 11, 0, tzinfo=UTC)  # rates count from the landing
        assert at.empty()
    finally:
        scheduler.stop()


def test_every_project_schedule_parses():
    from infra.local import slsconfig

    for schedule in schedules_from(slsconfig.load("local")):
        assert schedule.next_fire(utc(2026, 1, 1)) is not None, schedule.name


@pytest.fixture(scope="module")
def stack():
    running = fixture_stack()
    yield running
    running.stop()


def test_fire_now_runs_the_function_with_the_input(stack):
    CALLS["tick"].clear()
    assert stack.fire_schedule("fixture-morning") == {"ticks": 1}
    assert CALLS["tick"] == [{"job": "morning"}]


def test_fire_now_over_http(stack):
    CALLS["tick"].clear()
    res = requests.post(f"{stack.url}/_local/schedules/tick-schedule-2/fire", timeout=10)
    assert res.status_code == 200 and res.json()["ok"] is True
    assert CALLS["tick"][0]["detail-type"] == "Scheduled Event"
    assert requests.post(f"{stack.url}/_local/schedules/nope/fire", timeout=10).status_code == 404
    listed = {s["name"]: s for s in requests.get(f"{stack.url}/_local/schedules", timeout=10).json()}
    assert listed["fixture-morning"]["fired"] >= 0 and listed["tick-schedule-2"]["fired"] == 1


def test_fire_now_from_the_command_line(stack):
    from infra.local.cli import app

    CALLS["tick"].clear()
    result = CliRunner().invoke(app, ["--stack-url", stack.url, "schedule", "fire", "fixture-morning"])
    assert result.exit_code == 0, result.output
    assert CALLS["tick"] == [{"job": "morning"}]
    listed = CliRunner().invoke(app, ["schedule", "list"])
    assert listed.exit_code == 0


def test_fire_now_from_the_overview_page_says_what_it_did(stack):
    """The English admin page's button posts a form; the page it returns to says which
    schedule ran and what its function answered."""
    CALLS["tick"].clear()
    page = requests.get(f"{stack.url}/_local/", timeout=10).text
    assert '<html lang="en">' in page and "Fire now" in page and "立即触发" not in page
    form = {"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"}
    res = requests.post(f"{stack.url}/_local/schedules/fixture-morning/fire", headers=form, timeout=10)
    assert res.status_code == 200 and res.history[0].status_code == 303
    assert "data-done>Fired fixture-morning (" in res.text and "{&quot;ticks&quot;: 1}" in res.text
    drained = requests.post(f"{stack.url}/_local/queues/drain", headers=form, timeout=10)
    assert "queued message(s)" in drained.text and "data-done>Delivered " in drained.text

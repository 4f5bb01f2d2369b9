"""The one clock: CLOCK_AT starts it at a named instant and it runs on from there (the local
stack, the end-to-end tests and the browser journeys); an AWS stage refuses the setting."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from functions.common import clock

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def real_clock_after():
    """The clock as this process was started (the real one, unless CLOCK_AT was given)."""
    yield
    clock.start_from(os.environ)


def test_clock_at_is_ningbo_wall_time_and_the_clock_runs_on_from_it(real_clock_after):
    clock.start_from({"CLOCK_AT": "2026-11-16T15:30"})
    first = clock.now()
    assert clock.is_set()
    assert timedelta(0) <= first - datetime(2026, 11, 16, 7, 30, tzinfo=UTC) < timedelta(seconds=5)
    assert clock.local(first).strftime("%a %H:%M") == "Mon 15:30"
    deadline = time.monotonic() + 5
    while clock.now() == first and time.monotonic() < deadline:
        pass
    assert clock.now() > first  # it runs: waits and expiries still pass


@pytest.mark.parametrize("value", ["2026-11-21T23:30:00+08:00", "2026-11-21T15:30:00Z", "2026-11-21 23:30"])
def test_an_offset_is_honoured_and_its_absence_means_asia_shanghai(value, real_clock_after):
    clock.start_from({"CLOCK_AT": value})
    assert clock.local().strftime("%Y-%m-%d %H:%M") == "2026-11-21 23:30"


def test_without_the_setting_the_clock_is_the_real_one(real_clock_after):
    clock.set_at(datetime(2030, 1, 1, tzinfo=UTC))
    clock.start_from({})
    assert not clock.is_set()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)


def test_a_frozen_clock_stands_still_over_a_set_one(frozen_clock, real_clock_after):
    clock.set_at(datetime(2030, 1, 1, tzinfo=UTC))
    frozen_clock(datetime(2026, 11, 16, 1, 0, tzinfo=UTC))
    assert clock.now() == datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
    clock.freeze(None)
    assert clock.now().year == 2030


def test_a_value_that_is_not_a_time_is_refused():
    with pytest.raises(ValueError):
        clock.start_from({"CLOCK_AT": "tomorrow 9am"})


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_an_aws_stage_refuses_the_setting(stage, real_clock_after, monkeypatch):
    clock.set_at(None)
    with pytest.raises(RuntimeError, match=f"CLOCK_AT: the clock cannot be set in stage '{stage}'"):
        clock.start_from({"STAGE": stage, "CLOCK_AT": "2026-11-16T09:00"})
    monkeypatch.setenv("STAGE", stage)
    with pytest.raises(RuntimeError, match="cannot be set"):
        clock.set_at(datetime(2026, 11, 16, 1, 0, tzinfo=UTC))
    assert not clock.is_set()


def test_a_function_started_in_an_aws_stage_with_the_setting_fails_loudly_at_start_up():
    """A Lambda container imports its handler's module at start-up; with CLOCK_AT in a prod
    function's environment that import fails, so no invocation ever runs on a set clock."""
    env = {**{k: v for k, v in os.environ.items() if k != "STAGE"}, "PYTHONPATH": str(ROOT),
           "STAGE": "prod", "CLOCK_AT": "2026-11-16T09:00"}
    run = subprocess.run([sys.executable, "-c", "import functions.booking.app"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "CLOCK_AT: the clock cannot be set in stage 'prod'" in run.stderr
    show = "from functions.common import clock; print(clock.local().strftime('%H:%M'))"
    local = subprocess.run([sys.executable, "-c", show], cwd=ROOT, env={**env, "STAGE": "local"},
                           capture_output=True, text=True, timeout=60)
    assert local.returncode == 0, local.stderr
    assert local.stdout.strip() == "09:00"

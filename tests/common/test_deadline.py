"""The handoff that keeps the webhook inside its deadline while a feature hangs."""
from __future__ import annotations

import threading

import pytest

from functions.common.deadline import Handoff


def test_result_and_exception_come_back_to_the_caller():
    handoff = Handoff(max_threads=2)
    assert handoff.call(5, lambda a, b: a + b, 2, 3) == 5

    def fail() -> None:
        raise ValueError("broken feature")

    with pytest.raises(ValueError, match="broken feature"):
        handoff.call(5, fail)
    assert handoff.call(5, lambda: "still serving") == "still serving"


def test_a_hanging_call_times_out_and_others_are_still_served():
    handoff = Handoff(max_threads=2)
    release = threading.Event()
    try:
        with pytest.raises(TimeoutError):
            handoff.call(0.05, release.wait)
        assert handoff.call(5, lambda: "answered") == "answered"  # a second worker takes it
    finally:
        release.set()


def test_a_call_abandoned_before_it_started_never_runs():
    handoff = Handoff(max_threads=1)
    started, release, ran = threading.Event(), threading.Event(), []

    def record(n: int) -> int:
        ran.append(n)
        return n

    def busy() -> int:
        started.set()
        release.wait(5)
        return record(1)

    first = threading.Thread(target=handoff.call, args=(5, busy))
    first.start()
    started.wait(5)  # the only worker is busy
    with pytest.raises(TimeoutError):
        handoff.call(0.05, record, 2)  # queued behind it, then given up
    release.set()
    first.join()
    assert handoff.call(5, record, 3) == 3
    assert ran == [1, 3]

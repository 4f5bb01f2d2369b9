"""Waiting for a state that announces itself with no event (threads queued inside a library
call): poll it, with a deadline, instead of sleeping for a guessed time."""
from __future__ import annotations

import time
from collections.abc import Callable

POLL_S = 0.002


def eventually(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Return once `condition()` holds; AssertionError naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not so after {timeout} s")
        time.sleep(POLL_S)

"""Build-once values: a function whose result is made at its first call, under a lock, and
handed to every later caller. For what the import path must not pay for, and where two
threads building at once would get two different things (two PynamoDB model classes with
two different DoesNotExist exceptions, two thread pools)."""
from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

T = TypeVar("T")


def build_once(build: Callable[[], T]) -> Callable[[], T]:
    """`build`, called at the first call only; every caller gets that one result."""
    lock = threading.Lock()
    built: list[T] = []

    @wraps(build)
    def get() -> T:
        if not built:
            with lock:
                if not built:
                    built.append(build())
        return built[0]

    return get

"""Values built on first use, once: module-level PynamoDB models that the import path must
not pay for, where two threads building at once would get two different classes (and two
different DoesNotExist exceptions)."""
from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

T = TypeVar("T")


def once(build: Callable[[], T]) -> Callable[[], T]:
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

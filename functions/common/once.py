"""Build-once values: a function whose result is made at its first call, under a lock, and
handed to every later caller. For what the import path must not pay for, and where two
threads building at once would get two different things (two PynamoDB model classes with
two different DoesNotExist exceptions, two thread pools). And modules run at their first
use, for what some of a function's answers need and its first page does not."""
from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

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


class ModuleOnFirstUse:
    """Stands for the module `name` until one of its attributes is asked for, then imports
    it and answers from it: for a module, and what it imports, that some answers of a
    function need and its first page does not (loan_apply's tables and PynamoDB under the
    form). The import system's own lock makes threads asking at once wait for the module to
    have run, and `sys.modules` holds only the real module, once imported."""

    __slots__ = ("_module_name",)

    def __init__(self, name: str):
        self._module_name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._module_name), attribute)

"""Build-once values: a function whose result is made at its first call, under a lock, and
handed to every later caller. For what the import path must not pay for, and where two
threads building at once would get two different things (two PynamoDB model classes with
two different DoesNotExist exceptions, two thread pools). And modules run at their first
use, for what some of a function's answers need and its first page does not."""
from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Callable
from functools import wraps
from types import ModuleType
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


def module_on_first_use(name: str) -> ModuleType:
    """The module `name`, found now and run at its first attribute access (the standard
    library's LazyLoader), with whatever it imports: e.g. loan_apply's tables and PynamoDB,
    which its form page does not touch. Another import of the name gets the same module."""
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module

"""Run a call on another thread and stop waiting for it at a deadline.

For invokers that cannot keep a deadline themselves (an in-process Lambda runtime): the
Lambda API client keeps it with socket timeouts, but a plain function call cannot be
interrupted from the waiting thread, so it runs on a worker. ThreadPoolExecutor does the
same with a Future and a Condition per call; this handoff (a queue, one lock per call,
reused daemon threads) costs about half as much CPU. A call that times out before a worker
has picked it up never starts, as with `Future.cancel()`.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any


class Handoff:
    """Up to `max_threads` reusable workers; calls beyond that wait in the queue."""

    def __init__(self, max_threads: int = 8, name: str = "handoff"):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._threads = 0
        self._max = max_threads
        self._name = name

    def call(self, timeout_s: float, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)` on a worker; its result or exception, or TimeoutError after `timeout_s`."""
        done = threading.Lock()
        done.acquire()
        # `start` is popped exactly once (list.pop is atomic): by the worker that runs the
        # call, or by this thread when it gives up first, so an abandoned call never starts
        start: list[Callable[..., Any]] = [fn]
        outcome: list[tuple[bool, Any]] = []
        self._jobs.put((start, args, outcome, done))
        if not self._idle.acquire(blocking=False):
            self._grow()
        if done.acquire(timeout=max(timeout_s, 0)):
            return _unwrap(outcome)
        try:
            start.pop()
        except IndexError:  # a worker has it: it runs on, its outcome is dropped
            pass
        raise TimeoutError(f"no answer within {timeout_s:.3f} s")

    def _grow(self) -> None:
        with self._lock:
            if self._threads >= self._max:
                return
            self._threads += 1
            number = self._threads
        threading.Thread(target=self._work, name=f"{self._name}-{number}", daemon=True).start()

    def _work(self) -> None:
        while True:
            start, args, outcome, done = self._jobs.get()
            try:
                fn = start.pop()
            except IndexError:  # abandoned before it started
                self._idle.release()
                continue
            try:
                outcome.append((True, fn(*args)))
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                outcome.append((False, error))
            finally:
                done.release()
                self._idle.release()
            del start, args, outcome, done, fn


def _unwrap(outcome: list[tuple[bool, Any]]) -> Any:
    ok, value = outcome[0]
    if ok:
        return value
    raise value

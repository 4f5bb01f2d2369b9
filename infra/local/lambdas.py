"""Calling the stack's functions as Lambda would: one invocation at a time per function (a
Chalice app keeps the current request on itself, Powertools' batch processor keeps its
records), the function's timeout, and failures shaped as Lambda reports them."""
from __future__ import annotations

import logging
import threading
import traceback
from collections import defaultdict
from typing import Any

from infra.local import runtime
from infra.local.slsconfig import ServerlessConfig

logger = logging.getLogger("infra.local")


class FunctionError(Exception):
    """The function failed; `payload` is what Lambda's Invoke API would return."""

    def __init__(self, payload: dict[str, Any]):
        super().__init__(payload.get("errorMessage", "function failed"))
        self.payload = payload


class UnknownFunction(KeyError):
    pass


def error_payload(error: BaseException) -> dict[str, Any]:
    """Lambda's error shape for an unhandled exception."""
    kind = type(error).__name__
    if isinstance(error, ImportError):
        kind = "Runtime.ImportModuleError"
    elif isinstance(error, AttributeError) and "has no attribute" in str(error):
        kind = "Runtime.HandlerNotFound"
    return {
        "errorMessage": str(error),
        "errorType": kind,
        "stackTrace": [line for frame in traceback.extract_tb(error.__traceback__)
                       if "/infra/local/" not in frame.filename
                       for line in traceback.format_list([frame])],
    }


class Lambdas:
    """The functions of one serverless.yml, callable by key or deployed name."""

    def __init__(self, config: ServerlessConfig):
        self.config = config
        self.functions = config.functions
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)

    def key(self, name: str) -> str:
        key = runtime.key_for_name(self.config, name)
        if key not in self.functions:
            raise UnknownFunction(name)
        return key

    def call(self, key: str, event: Any, timeout_s: float | None = None) -> Any:
        """Invoke `key` synchronously; FunctionError when it raised or timed out."""
        timeout = float(timeout_s or self.functions[key].timeout)
        outcome: dict[str, Any] = {}

        def run() -> None:
            with self._locks[key]:
                try:
                    outcome["result"] = runtime.call(self.config, key, event, timeout)
                except BaseException as error:  # noqa: BLE001 - reported like Lambda does
                    outcome["error"] = error

        worker = threading.Thread(target=run, name=f"lambda-{key}", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            logger.warning("%s timed out after %.2f s", key, timeout)
            raise FunctionError({"errorMessage": f"Task timed out after {timeout:.2f} seconds",
                                 "errorType": "Sandbox.Timedout"})
        if "error" in outcome:
            error = outcome["error"]
            logger.error("%s failed: %s: %s", key, type(error).__name__, error)
            raise FunctionError(error_payload(error)) from error
        return outcome["result"]

    def call_async(self, key: str, event: Any) -> None:
        """InvocationType=Event: run in the background; failures are logged."""

        def run() -> None:
            try:
                self.call(key, event)
            except FunctionError:
                pass

        threading.Thread(target=run, name=f"lambda-event-{key}", daemon=True).start()

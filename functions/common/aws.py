"""boto3 clients, created once per container and shared (their creation dominates cold
starts). Endpoints come from the standard AWS_ENDPOINT_URL[_<SERVICE>] variables, which the
local stack sets; tests call `reset()` when they start a fresh moto."""
from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from functions.common import config


@cache
def client(service: str, read_timeout: float = 5.0, max_attempts: int = 3):
    """A shared client; `max_attempts=1` where a retry could repeat an effect."""
    import boto3
    from botocore.config import Config

    cfg = Config(
        connect_timeout=2,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
    )
    return boto3.client(service, region_name=config.settings().region, config=cfg)


Invoker = Callable[[str, dict[str, Any], float], Any]
_invoker: Invoker | None = None


def set_invoker(invoker: Invoker | None) -> None:
    """Route `invoke` to another transport (the tests' in-process Lambda runtime);
    None restores the Lambda API."""
    global _invoker
    _invoker = invoker


def invoke(function_key: str, payload: dict[str, Any], timeout_s: float) -> Any:
    """Invoke a function of this stack synchronously by its serverless.yml key.
    Raises RuntimeError when the function failed; botocore errors on time-outs."""
    if _invoker is not None:
        return _invoker(function_key, payload, timeout_s)
    # no retries: botocore would retry a read time-out, running the function again
    lam = client("lambda", read_timeout=timeout_s, max_attempts=1)
    res = lam.invoke(
        FunctionName=config.settings().function_name(function_key),
        InvocationType="RequestResponse",
        Payload=json.dumps(payload).encode(),
    )
    body = json.loads(res["Payload"].read() or b"null")
    if res.get("FunctionError"):
        raise RuntimeError(f"{function_key} failed: {body!r:.200}")
    return body


def reset() -> None:
    client.cache_clear()

"""An in-process Lambda runtime: find a function's handler from serverless.yml and call it
with a JSON round trip, as Lambda would. Used by the local stack's Invoke API and by tests."""
from __future__ import annotations

import importlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.local.slsconfig import Function, ServerlessConfig


@dataclass
class LambdaContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = ""
    aws_request_id: str = ""
    deadline_ms: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        import time

        return max(0, int(self.deadline_ms - time.time() * 1000)) if self.deadline_ms else 300000


def handler_of(function: Function) -> Callable[[Any, Any], Any]:
    module = importlib.import_module(function.module)
    return getattr(module, function.attribute)


def context_for(config: ServerlessConfig, key: str, timeout_s: float | None = None) -> LambdaContext:
    import time

    function = config.functions[key]
    name = config.function_name(key)
    return LambdaContext(
        function_name=name,
        invoked_function_arn=f"arn:aws:lambda:local:000000000000:function:{name}",
        aws_request_id=str(uuid.uuid4()),
        deadline_ms=time.time() * 1000 + 1000 * (timeout_s or function.timeout),
    )


def call(config: ServerlessConfig, key: str, event: Any, timeout_s: float | None = None) -> Any:
    """Call function `key` with `event`; both directions go through JSON."""
    handler = handler_of(config.functions[key])
    result = handler(json.loads(json.dumps(event)), context_for(config, key, timeout_s))
    return json.loads(json.dumps(result))


def key_for_name(config: ServerlessConfig, function_name: str) -> str:
    """serverless.yml key from a deployed function name (or the key itself)."""
    prefix = f"{config.service}-{config.stage}-"
    key = function_name.split(":")[-1]
    return key[len(prefix):] if key.startswith(prefix) else key

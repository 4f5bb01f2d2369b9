"""The local stack for end-to-end tests, in this process: `local_stack` is a started
infra.local.stack.LocalStack with demo data (one per test module; use fresh openids).
Schedules fire only when a test says so (`local_stack.fire_schedule(name)`); queues are
delivered in the background and `local_stack.drain_queues()` waits until they are empty,
failed messages coming back at once."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def local_stack():
    from infra.local.stack import LocalStack

    stack = LocalStack(port=0, schedules=False, retry_delay_s=0).start()
    try:
        yield stack
    finally:
        stack.stop()

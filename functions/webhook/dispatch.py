"""One WeChat delivery, from verified message to reply: de-duplicate, route, reach the
feature within the deadline, fall back politely. Chalice-free, so the benchmark and the
tests drive it the same way."""
from __future__ import annotations

import time
from typing import Any

from functions.common import aws, config
from functions.common.intents import Intent, Reply
from functions.common.log import get_logger
from functions.common.wechat import protocol
from functions.webhook import dedup, routes

logger = get_logger()
POLL_S = 0.1
_store: dedup.Store | None = None


def store() -> dedup.Store:
    global _store
    if _store is None:
        _store = dedup.DynamoStore()
    return _store


def use_store(replacement: dedup.Store | None) -> None:
    """Swap the de-duplication store (the benchmark measures CPU without AWS I/O)."""
    global _store
    _store = replacement


def receive(params: dict[str, str], body: bytes, started: float | None = None) -> tuple[str, str]:
    """Answer a POST /wechat: (body, content type). Raises protocol.ProtocolError (4xx)."""
    started = time.monotonic() if started is None else started
    wire = protocol.Protocol.from_settings()
    inbound = wire.open(params, body)
    reply = answer(inbound.message, started + config.settings().intent_deadline_s)
    xml = wire.render(inbound, reply)
    if xml == protocol.SUCCESS:
        return xml, "text/plain; charset=utf-8"
    return wire.seal(inbound, xml), "application/xml; charset=utf-8"


def answer(message: Any, deadline: float) -> Reply:
    """The reply to a message, processed at most once across every copy WeChat sends.
    Routing comes first: a message that cannot be routed is refused before anything is
    stored. The webhook's own answers (welcome, help) have no effects to repeat, so only
    messages for a feature are de-duplicated."""
    route = routes.route(message)
    if route.function is None or route.intent is None:
        return route.reply or Reply.nothing()
    key = protocol.dedup_key(message)
    lease_s = config.settings().intent_deadline_s + 2
    try:
        claim = store().claim(key, lease_s)
        while claim.state == "busy":
            if time.monotonic() + POLL_S > deadline:
                logger.warning("duplicate still processing at the deadline")
                return _fallback(route)
            time.sleep(POLL_S)
            claim = store().peek(key)
    except Exception:  # noqa: BLE001 - the state store is down: answer, never process blind
        logger.exception("de-duplication store failed")
        return _fallback(route)
    if claim.state == "done":
        return Reply.from_dict(claim.reply or {"v": 1, "type": "none"})
    reply = process(route, deadline)
    try:
        store().finish(key, reply.to_dict())
    except Exception:  # noqa: BLE001 - the user still gets this answer
        logger.exception("could not store the reply")
    return reply


def process(route: routes.Route, deadline: float) -> Reply:
    """Reach the route's feature; a failure or a late answer becomes the fallback."""
    assert route.function is not None and route.intent is not None
    try:
        result = invoke(route.function, route.intent, deadline)
    except Exception as error:  # noqa: BLE001 - a failing feature must not fail the webhook
        logger.warning("intent failed", extra={"function": route.function, "kind": route.intent.kind,
                                                "error": type(error).__name__})
        return _fallback(route)
    if route.silent:
        return Reply.nothing()
    if result.type == "none" and route.help_on_nothing:
        return Reply.say(routes.help_text())
    return result


def _fallback(route: routes.Route) -> Reply:
    return Reply.nothing() if route.silent else Reply.say(routes.fallback_text())


def invoke(function: str, intent: Intent, deadline: float) -> Reply:
    """Invoke a feature's intent handler, waiting no longer than the deadline."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("no time left")
    return Reply.from_dict(aws.invoke(function, intent.to_dict(), remaining))

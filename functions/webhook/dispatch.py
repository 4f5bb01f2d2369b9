"""One WeChat delivery, from verified message to reply: de-duplicate, route, reach the
feature within the deadline, fall back politely. Chalice-free, so the benchmark and the
tests drive it the same way."""
from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping

from functions.common import aws, config
from functions.common.intents import Intent, Reply
from functions.common.log import get_logger
from functions.common.wechat import protocol
from functions.webhook import dedup, routes

logger = get_logger()
POLL_S = 0.1


def verify(params: Mapping[str, str]) -> str:
    """Answer WeChat's GET check (the echostr). Outside safe mode its (timestamp, nonce) is
    remembered too, so the query string cannot carry a POSTed body later."""
    wire = protocol.Protocol.from_settings()
    echostr = wire.echo(params)
    if wire.mode != "safe":
        digest = hashlib.sha256(b"GET " + echostr.encode()).hexdigest()
        dedup.store().remember(dedup.Nonce(params["timestamp"], params["nonce"], digest))
    return echostr


def receive(params: Mapping[str, str], body: bytes, started: float | None = None) -> tuple[str, str]:
    """Answer a POST /wechat: (body, content type). Raises protocol.ProtocolError (4xx)."""
    started = time.monotonic() if started is None else started
    wire = protocol.Protocol.from_settings()
    inbound = wire.open(params, body)
    reply = answer(inbound, started + config.settings().intent_deadline_s)
    xml = wire.render(inbound, reply)
    if xml == protocol.SUCCESS:
        return xml, "text/plain; charset=utf-8"
    return wire.seal(inbound, xml), "application/xml; charset=utf-8"


def answer(inbound: protocol.Inbound, deadline: float) -> Reply:
    """The reply to a message, processed at most once across every copy WeChat sends.
    Routing comes first: a message that cannot be routed is refused before anything is
    stored. The webhook's own answers (welcome, help) have no effects to repeat, so only
    messages for a feature are claimed; an unsigned body's nonce is remembered either way.
    Raises NonceReused for a captured query string with another body."""
    route = routes.route(inbound)
    nonce = dedup.Nonce(inbound.timestamp, inbound.nonce, inbound.body_digest) if inbound.binds_body else None
    store = dedup.store()
    if route.function is None or route.intent is None:
        if nonce:
            _remember(store, nonce)
        return route.reply or Reply.nothing()
    key = protocol.dedup_key(inbound)
    try:
        claim = store.claim(key, nonce)
        while claim.state == "busy":
            if time.monotonic() + POLL_S > deadline:
                logger.warning("duplicate still processing at the deadline")
                return _fallback(route)
            time.sleep(POLL_S)
            claim = store.peek(key)
        if claim.state == "done":
            return Reply.from_dict(claim.reply or Reply.nothing().to_dict())
    except protocol.NonceReused:
        raise
    except Exception:  # noqa: BLE001 - the state store is down (or holds an unreadable reply): never process blind
        logger.exception("de-duplication store failed")
        return _fallback(route)
    reply = process(route, deadline)
    try:
        store.finish(key, reply.to_dict())
    except Exception:  # noqa: BLE001 - the user still gets this answer
        logger.exception("could not store the reply")
    return reply


def _remember(store: dedup.DeliveryStore, nonce: dedup.Nonce) -> None:
    """Remember the nonce of a message the webhook answers itself; a store that is down
    costs the check, not the answer (the answer has no effects and holds no data)."""
    try:
        store.remember(nonce)
    except protocol.NonceReused:
        raise
    except Exception:  # noqa: BLE001 - see above
        logger.exception("could not remember the nonce")


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

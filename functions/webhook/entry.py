"""The webhook's Lambda handler (serverless.yml). WeChat's messages and its GET check are
answered straight from API Gateway's REST event: Chalice and the pages' HTTP helpers (about a
quarter of `import boto3` on a cold start) are no part of a message's reply. Every other
route, and a /wechat request WeChat never sends (a content type it does not use), goes to the
Chalice app (app.py), imported on first use, which answers it in the one error shape.

The event is read as Chalice reads it (requestContext's method and resource path, the last
value of each query parameter, a base64 body when API Gateway says so, bytes as Chalice's
local gateway gives them), so both paths see a
request alike; Chalice's local gateway, which the tests use, builds its events the same way."""
from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from typing import Any

WECHAT = "/wechat"
# what WeChat's servers send, and what the Chalice route accepts
XML_TYPES = ("text/xml", "application/xml", "text/plain", "application/octet-stream")
TEXT = "text/plain; charset=utf-8"
# the signed query's parameters, and the longest value WeChat sends in any of them
SIGNED = ("signature", "timestamp", "nonce", "echostr", "openid", "encrypt_type", "msg_signature")
SIGNED_MAX = 256


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.monotonic()
    request = event.get("requestContext") or {}
    method = request.get("httpMethod")
    if request.get("resourcePath") == WECHAT and (method == "GET" or (method == "POST" and _xml(event))):
        return _wechat(method, event, started)
    from functions.webhook.app import app

    return app(event, context)


def answer(method: str, params: Mapping[str, str], body: bytes, started: float) -> tuple[int, str, str]:
    """WeChat's request to /wechat answered: (status, body, content type). The Chalice
    routes answer through here too."""
    from functions.common.wechat import protocol
    from functions.webhook import dispatch

    try:
        if any(len(params.get(name) or "") > SIGNED_MAX for name in SIGNED):
            raise protocol.ProtocolError()
        if method == "GET":
            return 200, dispatch.verify(params), TEXT
        reply, content_type = dispatch.receive(params, body, started)
    except protocol.ProtocolError as error:
        return error.status, error.code, TEXT
    return 200, reply, content_type


def _wechat(method: str, event: dict[str, Any], started: float) -> dict[str, Any]:
    from functions.common.headers import secure

    params = {name: values[-1] for name, values in (event.get("multiValueQueryStringParameters") or {}).items()
              if values}
    body = event.get("body") or b""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body if isinstance(body, bytes) else body.encode()
    try:
        status, text, content_type = answer(method, params, raw, started)
    except Exception as error:  # noqa: BLE001 - the same last line of defence as every Chalice view
        from functions.common import http

        return secure(http.failure_response(error, WECHAT).to_dict())
    return secure({"headers": {"Content-Type": content_type}, "multiValueHeaders": {}, "statusCode": status,
                   "body": text})


def _xml(event: dict[str, Any]) -> bool:
    """A Content-Type WeChat sends (Chalice's test: any of the header's parts listed)."""
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    parts = {part.strip().lower() for part in str(headers.get("content-type", "")).replace(",", ";").split(";")}
    return bool(parts & set(XML_TYPES))

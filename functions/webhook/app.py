"""webhook: the only WeChat endpoint (verify, decrypt, parse, de-duplicate, route, reply)
and the OAuth2 callback of the H5 pages. The WeChat machinery is imported on first use so
a cold start pays only for Chalice."""
from __future__ import annotations

import time

from chalice import Response

from functions.common import http, session
from functions.common.errors import ApiError, ServiceUnavailable

app = http.FeatureApp(app_name="webhook")
XML_TYPES = ["text/xml", "application/xml", "text/plain", "application/octet-stream"]


def _plain(body: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": content_type})


@app.route("/wechat", methods=["GET"])
def verify():
    from functions.common.wechat import protocol
    from functions.webhook import dispatch

    try:
        return _plain(dispatch.verify(app.current_request.query_params or {}))
    except protocol.ProtocolError as error:
        return _plain(error.code, error.status)


@app.route("/wechat", methods=["POST"], content_types=XML_TYPES)
def receive():
    started = time.monotonic()
    from functions.common.wechat import protocol
    from functions.webhook import dispatch

    request = app.current_request
    try:
        body, content_type = dispatch.receive(request.query_params or {}, request.raw_body or b"", started)
    except protocol.ProtocolError as error:
        return _plain(error.code, error.status)
    return _plain(body, content_type=content_type)


@app.route("/oauth/callback", methods=["GET"])
def oauth_callback():
    """WeChat sends the user back here with a code; the session cookie carries the openid."""
    from functions.common.wechat.client import get_client
    from functions.common.wechat.errors import WeChatRejected, WeChatTransient

    query = app.current_request.query_params or {}
    return_to = session.return_to_from(query.get("state") or "")
    if not return_to or not query.get("code"):
        raise ApiError(400, "bad_oauth_callback", "链接已失效，请返回公众号重新打开")
    try:
        openid = get_client().oauth_openid(query["code"])
    except WeChatTransient:
        raise ServiceUnavailable() from None
    except WeChatRejected:
        raise ApiError(400, "oauth_code_invalid", "登录已过期，请返回公众号重新打开") from None
    return http.redirect(return_to, headers={"Set-Cookie": session.set_cookie(session.issue(openid))})

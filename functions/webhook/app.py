"""webhook: the only WeChat endpoint (verify, decrypt, parse, de-duplicate, route, reply)
and the H5 pages' login (OAuth2 callback) and logout. The WeChat machinery is imported on
first use so a cold start pays only for Chalice."""
from __future__ import annotations

import time

from chalice import Response

from functions.common import http, session
from functions.common.errors import ApiError, ServiceUnavailable, ValidationFailed
from functions.common.http import Field

app = http.FeatureApp(app_name="webhook")
XML_TYPES = ["text/xml", "application/xml", "text/plain", "application/octet-stream"]
# What each operation takes in its query (the types and sizes; the protocol checks the rest)
SIGNED = {name: Field(256) for name in ("signature", "timestamp", "nonce", "echostr", "openid", "encrypt_type",
                                        "msg_signature")}
OAUTH = {"code": Field(256), "state": Field(256), session.RETURN_PARAM: Field(2000)}


def _signed_query() -> dict[str, str]:
    """WeChat's query: a value of the wrong size is a request WeChat would not send."""
    from functions.common.wechat import protocol

    try:
        return http.query(app.current_request, SIGNED)
    except ValidationFailed:
        raise protocol.ProtocolError() from None


def _plain(body: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": content_type})


@app.route("/wechat", methods=["GET"])
def verify():
    from functions.common.wechat import protocol
    from functions.webhook import dispatch

    try:
        return _plain(dispatch.verify(_signed_query()))
    except protocol.ProtocolError as error:
        return _plain(error.code, error.status)


@app.route("/wechat", methods=["POST"], content_types=XML_TYPES)
def receive():
    started = time.monotonic()
    from functions.common.wechat import protocol
    from functions.webhook import dispatch

    request = app.current_request
    try:
        body, content_type = dispatch.receive(_signed_query(), request.raw_body or b"", started)
    except protocol.ProtocolError as error:
        return _plain(error.code, error.status)
    return _plain(body, content_type=content_type)


@app.route("/oauth/callback", methods=["GET"])
def oauth_callback():
    """WeChat sends the browser back here with a code. Only the browser that started this
    login (its login cookie's nonce matches the state) gets a session; any other is offered a
    login of its own, and the code is never spent for it."""
    from functions.common.wechat.client import get_client
    from functions.common.wechat.errors import WeChatRejected, WeChatTransient

    request = app.current_request
    query = http.query(request, OAUTH)
    return_to = session.safe_return_path(query.get(session.RETURN_PARAM))
    if not return_to:
        raise ApiError(400, "bad_oauth_callback", "链接已失效，请返回公众号重新打开")
    if not session.login_is_ours(request.headers, query.get("state"), return_to):
        from functions.common import pages

        page = pages.render(None, "notice.html", name="login-again", icon="weui-icon-warn",
                            title="登录链接已失效，或不是在本机发起的", code="login_not_started_here",
                            lines=["为保护您的账户，只能在发起登录的手机上完成登录。"], action=("重新登录", return_to))
        return http.html_response(page, 403)
    if not query.get("code"):
        raise ApiError(400, "bad_oauth_callback", "链接已失效，请返回公众号重新打开")
    try:
        openid = get_client().oauth_openid(query["code"])
    except WeChatTransient:
        raise ServiceUnavailable() from None
    except WeChatRejected:
        raise ApiError(400, "oauth_code_invalid", "登录已过期，请返回公众号重新打开") from None
    started = session.start(openid)
    return http.redirect(return_to, headers={"Set-Cookie": [session.set_cookie(started), session.clear_login_cookie()]})


@app.route("/oauth/logout", methods=["POST"], content_types=["application/x-www-form-urlencoded", "application/json"])
def logout():
    """The logout of every page's menu: this browser's session ends on the server."""
    from functions.common import pages

    request = app.current_request
    current = http.signed_in(request)
    if current is not None:
        http.require_csrf(request, current.openid, http.parse(request, http.CSRF))
        session.end(current)
    page = pages.render(None, "notice.html", name="signed-out", icon="weui-icon-success", title="您已安全退出",
                        lines=["如需继续办理，请返回公众号重新打开。"])
    return http.html_response(page, headers={"Set-Cookie": session.clear_cookie()})

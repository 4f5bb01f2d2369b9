"""webhook: the only WeChat endpoint (verify, decrypt, parse, de-duplicate, route, reply)
and the H5 pages' login (OAuth2 callback) and logout, as Chalice routes. Lambda runs
entry.handler, which answers WeChat's requests without this module."""
from __future__ import annotations

import time

from chalice import Response

from functions.common import config, http, session, urls
from functions.common.errors import ApiError, NotFound, ServiceUnavailable, ValidationFailed
from functions.common.http import Field
from functions.webhook import entry

app = http.FeatureApp(app_name="webhook")
# What each operation takes in its query (the types and sizes; the protocol checks the rest)
SIGNED = {name: Field(entry.SIGNED_MAX) for name in entry.SIGNED}
OAUTH = {"code": Field(256), "state": Field(256), session.RETURN_PARAM: Field(2000)}


def _plain(body: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": content_type})


@app.route("/wechat", methods=["GET"])
def verify():
    return _plain(*_wechat("GET"))


@app.route("/wechat", methods=["POST"], content_types=list(entry.XML_TYPES))
def receive():
    return _plain(*_wechat("POST"))


def _wechat(method):
    """WeChat's request as entry.handler answers it (the tests' client and any /wechat
    request the handler hands over come here)."""
    started = time.monotonic()
    request = app.current_request
    try:
        params = http.query(request, SIGNED)
    except ValidationFailed:  # a value of a size WeChat never sends, refused as entry.answer refuses it
        from functions.common.wechat.protocol import ProtocolError

        return ProtocolError.code, ProtocolError.status, entry.TEXT
    status, body, content_type = entry.answer(method, params, request.raw_body or b"", started)
    return body, status, content_type


@app.route("/{verify_file}", methods=["GET"])
def domain_verification(verify_file):
    """WeChat fetches MP_verify_<token>.txt at the domain's root before it accepts the domain
    for OAuth and the JS-SDK; the token is a stage setting. Any other name is not ours."""
    token = config.settings().wechat_verify_token
    if not token or verify_file != f"MP_verify_{token}.txt":
        raise NotFound("未找到该页面")
    return _plain(token)


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
                            lines=["为保护您的账户，只能在发起登录的手机上完成登录。"],
                            action=("重新登录", urls.link(return_to)))
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
    cookies = [session.set_cookie(started), session.clear_login_cookie()]
    return http.redirect(urls.link(return_to), headers={"Set-Cookie": cookies})


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

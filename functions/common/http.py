"""Chalice glue shared by every feature: one error shape, page vs JSON answers, the
security headers of every answer, the customer's session, CSRF and the staff key.

Conventions: JSON routes have `/api/` in their path (customer) or `/staff/` (back office);
every other route is an H5 page and gets an HTML error page or a login redirect.
"""
from __future__ import annotations

import functools
import hmac
import json
from typing import Any
from urllib.parse import urlsplit

from chalice import Chalice, Response

from functions.common import config, session
from functions.common.errors import (
    ApiError,
    FieldError,
    Forbidden,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
    Validator,
)
from functions.common.log import get_logger

logger = get_logger()

# WeChat's JS-SDK (jweixin), by name: the only scripts pages load from elsewhere.
JS_SDK_HOSTS = ("https://res.wx.qq.com", "https://res2.wx.qq.com")
HSTS = "max-age=31536000; includeSubDomains"


@functools.lru_cache(maxsize=4)
def security_headers(settings: config.Settings, page: bool) -> dict[str, str]:
    """The headers of every answer, pages (`page`) or anything else (JSON, redirects, WeChat's
    XML). Pages run only the inline scripts and styles of the templates this function ships
    (by hash, computed once from the template files, never from what a response contains),
    the JS-SDK and WeUI's stylesheet; nothing may frame them in AWS (the local stack's
    simulator frames them from the stack's own origin)."""
    from functions.common import pages

    ancestors = "'none'" if settings.is_aws else "'self'"
    if page:
        scripts, styles = pages.inline_hashes()
        policy = "; ".join((
            "default-src 'none'",
            f"script-src {' '.join(scripts + JS_SDK_HOSTS)}",
            f"style-src {' '.join((_origin(pages.weui_css()),) + styles)}",
            "img-src 'self' data:",
            "connect-src 'self'",
            # a form whose session ended is sent on to WeChat's login
            f"form-action 'self' {_origin(settings.wechat_open_base)}",
            "base-uri 'none'",
            f"frame-ancestors {ancestors}",
        ))
    else:
        policy = f"default-src 'none'; frame-ancestors {ancestors}"
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY" if settings.is_aws else "SAMEORIGIN",
        "Cache-Control": "no-store",
    }
    if settings.is_aws:
        headers["Strict-Transport-Security"] = HSTS
    return headers


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def secure(response: dict) -> dict:
    """A Lambda proxy response with the security headers it does not set itself."""
    headers = response.get("headers") or {}
    multi = response.get("multiValueHeaders") or {}
    ctype = str(headers.get("Content-Type") or headers.get("content-type") or "")
    for name, value in security_headers(config.settings(), ctype.startswith("text/html")).items():
        if name not in headers and name not in multi:
            headers[name] = value
    response["headers"] = headers
    return response


class LoginRequired(ApiError):
    def __init__(self, return_to: str):
        super().__init__(401, "login_required", "请在微信中打开")
        self.return_to = return_to


def is_api(path: str) -> bool:
    return "/api/" in path or "/staff/" in path or path.endswith("/api")


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        body=json.dumps(body, ensure_ascii=False),
        status_code=status,
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


def html_response(html: str, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        body=html,
        status_code=status,
        headers={"Content-Type": "text/html; charset=utf-8", **(headers or {})},
    )


def redirect(location: str, headers: dict | None = None) -> Response:
    return Response(body="", status_code=302, headers={"Location": location, **(headers or {})})


def error_response(error: ApiError, path: str) -> Response:
    """The error as JSON for programs (its code included) or as a page for people (its
    sentence only); the code goes to the log either way."""
    logger.info("request refused", extra={"status": error.status, "error_code": error.code})
    if isinstance(error, LoginRequired) and not is_api(path):
        login = session.begin_login(error.return_to)
        return redirect(login.url, headers={"Set-Cookie": login.cookie})
    if is_api(path):
        return json_response(error.body(), error.status)
    from functions.common import pages

    return html_response(pages.error_page(error), error.status)


class FeatureApp(Chalice):
    """A Chalice app whose views answer every failure in the one error shape: ApiError as
    itself, DynamoDB throttling and AWS outages as a clean 503, anything else a 500 that
    shows nothing of the cause. (Chalice turns view exceptions into its own 500 before any
    middleware sees them, so the guard wraps each view.) Every answer, Chalice's own
    included, leaves with the security headers."""

    def __call__(self, event: Any, context: Any) -> Any:
        response = super().__call__(event, context)
        if isinstance(response, dict) and response.get("statusCode") == 415:
            # Chalice refuses an unlisted Content-Type itself, in its own shape.
            error = ApiError(415, "unsupported_media_type", "不支持的请求格式")
            path = (event.get("requestContext") or {}).get("resourcePath") or event.get("path") or ""
            if is_api(path):
                body, ctype = json.dumps(error.body(), ensure_ascii=False), "application/json; charset=utf-8"
            else:
                from functions.common import pages

                body, ctype = pages.error_page(error), "text/html; charset=utf-8"
            response.update(body=body, isBase64Encoded=False)
            response.setdefault("headers", {})["Content-Type"] = ctype
            response.get("multiValueHeaders", {}).pop("Content-Type", None)
        return secure(response) if isinstance(response, dict) else response

    def route(self, path: str, **kwargs: Any):
        register = super().route(path, **kwargs)

        def decorator(view):
            @functools.wraps(view)
            def guarded(*args, **kw):
                no_session_yet = session.use(None)  # a warm container's last request is gone
                try:
                    return view(*args, **kw)
                except ApiError as error:
                    return error_response(error, self.current_request.path)
                except Exception as error:  # noqa: BLE001 - last line of defence
                    if _is_aws_unavailable(error):
                        logger.warning("aws unavailable", extra={"error": type(error).__name__})
                        return error_response(ServiceUnavailable(), self.current_request.path)
                    logger.exception("unhandled error")
                    return error_response(ApiError(500, "internal", "系统错误，请稍后再试"), self.current_request.path)
                finally:
                    session.restore(no_session_yet)

            register(guarded)
            return view

        return decorator


def _is_aws_unavailable(error: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        return code in {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
                        "InternalServerError", "ServiceUnavailable", "TransactionConflictException"}
    if isinstance(error, BotoCoreError):
        return True
    name = type(error).__name__
    cause = getattr(error, "cause", None) or error.__cause__
    # PynamoDB wraps botocore errors in its own exceptions
    return name.endswith(("ThrottleError", "ConnectionError")) or (
        cause is not None and cause is not error and _is_aws_unavailable(cause)
    )


def request_path(request) -> str:
    """Path and query of the current request, to come back to after login."""
    path = request.context.get("path") or request.path
    query = request.query_params or {}
    if query:
        from urllib.parse import urlencode

        return f"{path}?{urlencode(query)}"
    return path


def signed_in(request) -> session.Session | None:
    """The live session the request came with, now the request's current session (one
    consistent read of the sessions table, once per request)."""
    found = session.current() or session.from_headers(request.headers)
    session.use(found)
    return found


def customer(request) -> str:
    """The openid of the customer's live session, or LoginRequired."""
    found = signed_in(request)
    if found is None:
        raise LoginRequired(request_path(request))
    return found.openid


def require_csrf(request, openid: str, form: dict | None = None) -> None:
    """State-changing requests carry their session's CSRF token (header or form field)."""
    token = request.headers.get(session.CSRF_HEADER) or (form or {}).get(session.CSRF_FIELD)
    found = session.current()
    if found is None or found.openid != openid or not session.csrf_ok(found, token):
        raise Forbidden("csrf_failed", "页面已过期，请刷新后重试")


def customer_post(request, flat: bool = False) -> tuple[str, dict]:
    """The customer and the body of a state-changing request, its CSRF token checked
    (`flat` as for `body`)."""
    openid = customer(request)
    data = body(request, flat=flat)
    require_csrf(request, openid, data)
    return openid, data


def require_staff(request) -> str:
    """Back-office calls carry the staff key (`X-Api-Key`); returns a staff identity."""
    given = request.headers.get("x-api-key") or ""
    expected = config.secret("STAFF_API_KEY")
    if not given:
        raise Unauthorized("缺少员工凭证")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden("bad_staff_key", "员工凭证无效")
    return request.headers.get("x-staff-id") or "staff"


def json_body(request) -> dict:
    """The request's JSON object, or a 400 the customer can read."""
    try:
        body = json.loads(request.raw_body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed([FieldError("body", "invalid_json", "请求格式错误")]) from None
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("body", "invalid_json", "请求格式错误")])
    return body


def form_body(request) -> dict[str, str]:
    """An urlencoded form (H5 pages post these) as a flat dict."""
    from urllib.parse import parse_qs

    try:
        raw = (request.raw_body or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed([FieldError("body", "invalid_encoding", "请求格式错误")]) from None
    return {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def body(request, flat: bool = False) -> dict:
    """JSON or form body, by content type. `flat=True` is for routes that take the same
    fields as an H5 form: every JSON value must then be a scalar and comes back as text,
    so a list or object where a form field belongs is a field error, not a crash."""
    ctype = (request.headers.get("content-type") or "").lower()
    if ctype.startswith("application/x-www-form-urlencoded"):
        return form_body(request)
    data = json_body(request)
    return flatten(data) if flat else data


def flatten(data: dict) -> dict[str, str]:
    """A JSON object as form fields: scalars as text, nulls dropped, nested values refused."""
    v = Validator()
    out: dict[str, str] = {}
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            out[key] = str(value)
        else:
            v.add(str(key), "invalid_type", "格式不正确")
    v.check()
    return out

"""Chalice glue shared by every feature: one error shape, page vs JSON answers, the
security headers of every answer, the customer's session, CSRF and the staff identity.

Conventions: JSON routes have `/api/` in their path (customer) or `/staff/` (back office);
every other route is an H5 page and gets an HTML error page or a login redirect.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalice import Chalice, Response

from functions.common import config, session, urls
from functions.common.errors import (
    ApiError,
    FieldError,
    Forbidden,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
    Validator,
)
from functions.common.headers import secure
from functions.common.log import get_logger
from functions.common.staff import Staff

logger = get_logger()

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
                request = self.current_request
                served_under = urls.serve(request.context, request.path, request.uri_params)
                try:
                    return view(*args, **kw)
                except Exception as error:  # noqa: BLE001 - last line of defence
                    return failure_response(error, self.current_request.path)
                finally:
                    urls.restore(served_under)
                    session.restore(no_session_yet)

            register(guarded)
            return view

        return decorator


def failure_response(error: Exception, path: str) -> Response:
    """The answer to a view that raised: an ApiError as itself, DynamoDB throttling and AWS
    outages a clean 503, anything else a 500 that shows nothing of the cause."""
    if isinstance(error, ApiError):
        return error_response(error, path)
    if _is_aws_unavailable(error):
        logger.warning("aws unavailable", extra={"error": type(error).__name__})
        return error_response(ServiceUnavailable(), path)
    logger.exception("unhandled error")
    return error_response(ApiError(500, "internal", "系统错误，请稍后再试"), path)


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
    """Path (from the API's root) and query of the current request, to come back to after
    login wherever the login's callback is served."""
    path = urls.app_path(request.path, request.uri_params)
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


def customer_post(request, fields: Fields) -> tuple[str, dict[str, str]]:
    """The customer and the declared fields of a state-changing request, its CSRF token
    checked (header, or the form's own field)."""
    openid = customer(request)
    data = parse(request, {**fields, **CSRF})
    require_csrf(request, openid, data)
    return openid, data


def origin(request) -> tuple[str, str]:
    """(source IP as API Gateway saw it, user agent) of a request, for records that keep
    where an act came from."""
    context = request.context or {}
    return (context.get("identity") or {}).get("sourceIp") or "", request.headers.get("user-agent") or ""


def require_staff(request, *roles: str) -> Staff:
    """The member of staff calling a back-office route that needs one of `roles`: the
    identity of a verified OpenID Connect token (`Authorization: Bearer`), never of anything
    else the caller writes. No or invalid token → 401 `unauthorized` / `invalid_token`; a
    valid one without any of the roles → 403 `role_required`; the issuer unreachable → 503."""
    from functions.common import staff

    token = staff.bearer(request.headers.get("authorization"))
    if token is None:
        raise Unauthorized("请先登录员工工作台")
    issuer = config.settings().staff_issuer()
    try:
        claims = staff.verify(token, issuer)
    except staff.InvalidToken as error:
        logger.info("staff token refused", extra={"reason": str(error)})
        raise ApiError(401, "invalid_token", "登录已失效，请重新登录") from None
    except staff.IssuerUnavailable as error:
        logger.warning("identity provider unavailable", extra={"error": str(error)})
        raise ServiceUnavailable() from None
    context = request.context or {}
    member = staff.from_claims(claims, issuer, source_ip=(context.get("identity") or {}).get("sourceIp") or "",
                               user_agent=request.headers.get("user-agent") or "")
    if not any(member.has(role) for role in roles):
        raise Forbidden("role_required", "您的岗位没有此操作的权限")
    return member


@dataclass(frozen=True)
class Field:
    """One field an operation takes, as text of at most `max_length` characters. `number`
    also takes a JSON number (as its text: amounts, terms), `flag` a JSON true or false (as
    "true"/"false"). The rules of the domain (formats, ranges, choices) stay the service's:
    this is the type and size of what arrives, checked once for every route."""

    max_length: int = 1000
    number: bool = False
    flag: bool = False

    def read(self, name: str, value: Any, v: Validator) -> str | None:
        if isinstance(value, bool):
            if self.flag:
                return "true" if value else "false"
        elif isinstance(value, (int, float)):
            if self.number:
                return str(value)
        elif isinstance(value, str):
            if len(value) <= self.max_length:
                return value
            v.add(name, "too_long", f"不能超过{self.max_length}个字")
            return None
        v.add(name, "invalid_type", "格式不正确")
        return None


Fields = Mapping[str, Field]
TEXT = Field()
CSRF: Fields = {session.CSRF_FIELD: TEXT}  # a form's own CSRF token (pages post it as a field)


def parse(request, fields: Fields) -> dict[str, str]:
    """The fields an operation declares, from its body (JSON or urlencoded form, by content
    type; Chalice answers 415 to any other): the present ones as text, or a 400 that lists
    every field of the wrong type or size. Undeclared fields are dropped."""
    ctype = (request.headers.get("content-type") or "").lower()
    raw = _form(request) if ctype.startswith("application/x-www-form-urlencoded") else _json_object(request)
    return _typed(raw, fields)


def query(request, fields: Fields) -> dict[str, str]:
    """The fields an operation declares, from its query string (as `parse`)."""
    return _typed(dict(request.query_params or {}), fields)


def _typed(raw: Mapping[str, Any], fields: Fields) -> dict[str, str]:
    v = Validator()
    out: dict[str, str] = {}
    for name, spec in fields.items():
        if raw.get(name) is not None:
            value = spec.read(name, raw[name], v)
            if value is not None:
                out[name] = value
    v.check()
    return out


def _json_object(request) -> dict:
    """The request's JSON object, or a 400 the customer can read."""
    try:
        body = json.loads(request.raw_body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValidationFailed([FieldError("body", "invalid_json", "请求格式错误")]) from None
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("body", "invalid_json", "请求格式错误")])
    return body


def _form(request) -> dict[str, str]:
    """An urlencoded form (H5 pages post these) as a flat dict (a repeated field's last value)."""
    from urllib.parse import parse_qs

    try:
        raw = (request.raw_body or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed([FieldError("body", "invalid_encoding", "请求格式错误")]) from None
    return {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}

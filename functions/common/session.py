"""H5 sessions: WeChat OAuth2 (snsapi_base) gives an openid; we keep it in a short-lived,
HMAC-signed cookie (HttpOnly, SameSite=Lax, Secure outside the local stack). State-changing
requests also carry a CSRF token derived from the session (double submit, stateless).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote, urlencode

from functions.common import clock, config

COOKIE = "wxsession"
TTL_S = 30 * 60
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def _sign(message: str) -> str:
    key = config.secret("SESSION_SECRET").encode()
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(openid: str, ttl_s: int = TTL_S) -> str:
    """A cookie value binding `openid` until now + ttl."""
    expires = clock.epoch() + ttl_s
    body = f"{openid}|{expires}"
    return f"{body}|{_sign('session:' + body)}"


def verify(value: str | None) -> str | None:
    """The openid of a valid, unexpired cookie value; None for anything else."""
    if not value or value.count("|") != 2:
        return None
    openid, expires, signature = value.split("|")
    if not hmac.compare_digest(signature, _sign(f"session:{openid}|{expires}")):
        return None
    if not expires.isdigit() or int(expires) < clock.epoch():
        return None
    return openid


def openid_from_headers(headers: dict[str, str]) -> str | None:
    from http.cookies import SimpleCookie  # only requests with a session pay for it

    raw = headers.get("cookie") or headers.get("Cookie") or ""
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed cookie header is the same as none
        return None
    morsel = jar.get(COOKIE)
    return verify(morsel.value if morsel else None)


def set_cookie(value: str, ttl_s: int = TTL_S) -> str:
    secure = "; Secure" if config.settings().is_aws else ""
    return f"{COOKIE}={value}; Path=/; Max-Age={ttl_s}; HttpOnly; SameSite=Lax{secure}"


def csrf_token(openid: str) -> str:
    """A token only the holder of this openid's session can know."""
    return _sign("csrf:" + openid)


def csrf_ok(openid: str, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(str(token), csrf_token(openid))


def state_for(return_to: str) -> str:
    """OAuth `state`: the page to return to, signed so it cannot be turned into an open
    redirect."""
    encoded = base64.urlsafe_b64encode(return_to.encode()).decode().rstrip("=")
    return f"{encoded}.{_sign('state:' + return_to)[:16]}"


def return_to_from(state: str) -> str | None:
    encoded, _, signature = state.partition(".")
    try:
        return_to = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except Exception:
        return None
    if not hmac.compare_digest(signature, _sign("state:" + return_to)[:16]):
        return None
    if not return_to.startswith("/") or return_to.startswith("//"):
        return None
    return return_to


def login_url(return_to: str) -> str:
    """WeChat's authorize URL; WeChat sends the user back to /oauth/callback with a code."""
    s = config.settings()
    params = {
        "appid": s.wechat_app_id,
        "redirect_uri": f"{s.public_base_url}/oauth/callback",
        "response_type": "code",
        "scope": "snsapi_base",
        "state": state_for(return_to),
    }
    return f"{s.wechat_open_base}connect/oauth2/authorize?{urlencode(params, quote_via=quote)}#wechat_redirect"

"""H5 sessions.

Login: a page without a session sends the browser to WeChat's OAuth2 authorize URL
(snsapi_base) and sets a short-lived login cookie holding a random nonce. The OAuth `state`
is a MAC of that nonce and the return path, so /oauth/callback signs in only the browser that
started the login: a callback link carried to another browser (login CSRF) has no nonce
there. WeChat allows only [a-zA-Z0-9], at most 128 bytes, in `state`; the return path
travels in the redirect URI, bound by the same MAC.

Sessions live on the server, in the sessions table: one item per session under its
customer's key, with its expiry (TTL). The cookie holds the customer key and a 256-bit random
secret, of which the item keeps only a hash. Every customer request reads its item once
(one consistent GetItem), so a session ended by logout, by unfollowing or by unbinding the
last card is refused at its next request. The four attributes are read and written with the
container's DynamoDB client, without an ORM: a page whose feature reads no table of its own
(the loan form) then loads no PynamoDB. The CSRF token is a hash of the session's secret
under its own label ("csrf:"), unlike the hash the item keeps: every session has its own, it
dies with it, and neither the cookie-less attacker nor a reader of the sessions table can
derive it. A server key would add nothing to a 256-bit random secret, and would cost every
page its first read of the stage's secrets.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from contextvars import ContextVar, Token
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from functions.common import aws, clock, config, urls

COOKIE = "wxsession"
LOGIN_COOKIE = "wxlogin"
TTL_S = 30 * 60
LOGIN_TTL_S = 10 * 60
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
RETURN_PARAM = "to"
MAX_RETURN_PATH = 2000  # the return path rides in a URL WeChat hands back
_COOKIE_VALUE = re.compile(r"([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})")
_NONCE = re.compile(r"[A-Za-z0-9_-]{32}")


@dataclass(frozen=True)
class Session:
    """A live session: `secret` is the cookie's random part, known only to the browser."""

    customer_key: str
    secret: str
    openid: str
    expires: int

    @property
    def cookie_value(self) -> str:
        return f"{self.customer_key}.{self.secret}"

    @property
    def csrf_token(self) -> str:
        return _digest("csrf:" + self.secret)


_current: ContextVar[Session | None] = ContextVar("session", default=None)


def _mac(message: str) -> str:
    key = config.secret("SESSION_SECRET").encode()
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _digest(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode().rstrip("=")


def customer_key(openid: str) -> str:
    """The partition of a customer's sessions (what ends them all at once)."""
    return _digest("customer:" + openid)[:22]


def _table() -> str:
    return config.settings().table("sessions")


def _key(customer: str, secret: str) -> dict[str, dict[str, str]]:
    """A session item's key: its customer's key and the hash of its secret."""
    return {"pk": {"S": customer}, "sk": {"S": _digest(secret)}}


# --- sessions ---------------------------------------------------------------------------

def start(openid: str, ttl_s: int = TTL_S) -> Session:
    """A new session for `openid`, stored; its `cookie_value` goes to the browser."""
    session = Session(customer_key(openid), secrets.token_urlsafe(32), openid, clock.epoch() + ttl_s)
    item = {**_key(session.customer_key, session.secret), "openid": {"S": openid},
            "expires_at": {"N": str(session.expires)}}
    aws.dynamodb().put_item(TableName=_table(), Item=item)
    return session


def find(cookie_value: str | None) -> Session | None:
    """The live session a cookie value names; None for anything else (a malformed value
    costs no read)."""
    match = _COOKIE_VALUE.fullmatch(cookie_value or "")
    if not match:
        return None
    key, secret = match.groups()
    item = aws.dynamodb().get_item(TableName=_table(), Key=_key(key, secret), ConsistentRead=True).get("Item")
    if not item:
        return None
    expires = int(item["expires_at"]["N"])
    if expires <= clock.epoch():  # TTL deletion lags
        return None
    return Session(key, secret, item["openid"]["S"], expires)


def from_headers(headers: dict[str, str]) -> Session | None:
    return find(cookie(headers, COOKIE))


def end(session: Session) -> None:
    """Logout: this session only."""
    aws.dynamodb().delete_item(TableName=_table(), Key=_key(session.customer_key, session.secret))
    if _current.get() == session:
        _current.set(None)


def end_all(openid: str) -> int:
    """Every session of the customer, ended (unfollowed, or the last card unbound): a few
    items at most (one a sign-in, each for half an hour), deleted one by one."""
    client, table, ended = aws.dynamodb(), _table(), 0
    query: dict = {"TableName": table, "KeyConditionExpression": "pk = :pk", "ProjectionExpression": "pk, sk",
                   "ExpressionAttributeValues": {":pk": {"S": customer_key(openid)}}, "ConsistentRead": True}
    while True:
        page = client.query(**query)
        for key in page.get("Items", []):
            client.delete_item(TableName=table, Key=key)
            ended += 1
        if "LastEvaluatedKey" not in page:
            return ended
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def current() -> Session | None:
    """The session the request being answered came with (set by `http.customer`)."""
    return _current.get()


def use(session: Session | None) -> Token[Session | None]:
    """Make `session` the current one; returns the token that `restore` takes."""
    return _current.set(session)


def restore(token: Token[Session | None]) -> None:
    _current.reset(token)


def csrf_token(openid: str) -> str:
    """The CSRF token of the current request's session, which must be `openid`'s."""
    session = _current.get()
    if session is None or session.openid != openid:
        raise LookupError("no session of this customer in this request")
    return session.csrf_token


def csrf_ok(session: Session, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(str(token).encode(), session.csrf_token.encode())


# --- cookies ----------------------------------------------------------------------------

def cookie(headers: dict[str, str], name: str) -> str | None:
    from http.cookies import CookieError, SimpleCookie  # only requests with cookies pay for it

    raw = headers.get("cookie") or headers.get("Cookie") or ""
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:  # a malformed cookie header is the same as none
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def _cookie(name: str, value: str, max_age: int, path: str) -> str:
    secure = "; Secure" if config.settings().is_aws else ""
    return f"{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"


def set_cookie(session: Session) -> str:
    """The session cookie, for the pages of this API only (under its stage or base path)."""
    return _cookie(COOKIE, session.cookie_value, max(0, session.expires - clock.epoch()), urls.cookie_path())


def clear_cookie() -> str:
    return _cookie(COOKIE, "", 0, urls.cookie_path())


# --- login ------------------------------------------------------------------------------

CALLBACK = "/oauth/callback"


def _login_cookie(nonce: str, max_age: int) -> str:
    # sent to the callback only, wherever the stage or base path puts it
    return _cookie(LOGIN_COOKIE, nonce, max_age, urls.base_path() + CALLBACK)


def clear_login_cookie() -> str:
    return _login_cookie("", 0)


def login_state(nonce: str, return_to: str) -> str:
    """OAuth `state`: 32 hex digits binding the browser's nonce to the return path."""
    key = config.secret("SESSION_SECRET").encode()
    return hmac.new(key, f"login:{nonce}|{return_to}".encode(), hashlib.sha256).hexdigest()[:32]


def safe_return_path(value: str | None) -> str | None:
    """A path of this API (from its root: the callback puts it under its own prefix) to
    send the browser back to, or None (never another site)."""
    if not value or len(value) > MAX_RETURN_PATH or not value.startswith("/"):
        return None
    if value.startswith(("//", "/\\")) or any(c < " " or c == "\x7f" for c in value):
        return None
    return value


@dataclass(frozen=True)
class Login:
    url: str  # WeChat's authorize URL
    cookie: str  # Set-Cookie value binding the login to this browser


def begin_login(return_to: str) -> Login:
    """Where a page without a session sends the browser, and the login cookie it sets."""
    return_to = safe_return_path(return_to) or safe_return_path(return_to.partition("?")[0]) or "/"
    nonce = secrets.token_urlsafe(24)
    s = config.settings()
    params = {
        "appid": s.wechat_app_id,
        "redirect_uri": urls.absolute(CALLBACK, **{RETURN_PARAM: return_to}),
        "response_type": "code",
        "scope": "snsapi_base",
        "state": login_state(nonce, return_to),
    }
    url = f"{s.wechat_open_base}connect/oauth2/authorize?{urlencode(params, quote_via=quote)}#wechat_redirect"
    return Login(url, _login_cookie(nonce, LOGIN_TTL_S))


def login_is_ours(headers: dict[str, str], state: str | None, return_to: str) -> bool:
    """Whether this browser started the login that `state` names."""
    nonce = cookie(headers, LOGIN_COOKIE) or ""
    if not _NONCE.fullmatch(nonce) or not state:
        return False
    return hmac.compare_digest(state.encode(), login_state(nonce, return_to).encode())

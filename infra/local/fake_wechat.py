"""A fake of the WeChat API for the local stack and the tests (a WSGI app).

It serves what the functions call (cgi-bin/token, cgi-bin/stable_token, template and custom
messages, menu create/get, user info, OAuth2 authorize and code exchange), checks access
tokens as WeChat does (40001 for an unknown or invalidated one), records every message it
was asked to send per openid, and injects faults per endpoint (latency and errcodes, by
count or probability) so tests can play WeChat's bad days.

The app is prefix-agnostic: `/cgi-bin/token` and `/_wechat/cgi-bin/token` are the same
endpoint, so the local stack can mount it under a prefix. Admin endpoints (JSON):

  GET    _admin/outbox[?openid=..]   messages sent (all, or one user's)
  POST   _admin/reports/take         TEMPLATESENDJOBFINISH reports not yet taken, oldest first
  GET    _admin/stats                token fetches, valid tokens
  POST   _admin/faults               {"endpoint", "errcode"?, "latency"?, "count"?, "probability"?}
  DELETE _admin/faults               clear every fault
  POST   _admin/users                {"openid", "subscribed": false} (unfollow), or true
  POST   _admin/reset                forget everything
"""
from __future__ import annotations

import itertools
import json
import random
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

from functions.common import clock

DEFAULT_OPENID = "o_demo_customer"
# What WeChat's OAuth2 documentation allows in `state`.
STATE = re.compile(r"[a-zA-Z0-9]{0,128}")
TOKEN_TTL_S = 7200
ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40013: "invalid appid",
    40029: "invalid code",
    40125: "invalid appsecret",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    45009: "reach max api daily quota limit",
    46003: "menu no exist",
    47001: "data format error",
}
# Endpoints as the functions call them; the path's last segments after any prefix.
ENDPOINTS = (
    "cgi-bin/token",
    "cgi-bin/stable_token",
    "cgi-bin/message/template/send",
    "cgi-bin/message/custom/send",
    "cgi-bin/menu/create",
    "cgi-bin/menu/get",
    "cgi-bin/user/info",
    "connect/oauth2/authorize",
    "sns/oauth2/access_token",
)


@dataclass
class Fault:
    """What goes wrong on one endpoint: a delay and/or an errcode, for the next `count`
    calls (None: every call), each with `probability`."""

    latency: float = 0.0
    errcode: int | None = None
    count: int | None = None
    probability: float = 1.0


@dataclass
class SentMessage:
    msgid: str
    openid: str
    kind: str  # "template" or the custom message's msgtype ("text", ...)
    payload: dict
    status: str = "success"
    at: float = field(default_factory=lambda: clock.now().timestamp())  # the stack's clock, as the chat shows it

    @property
    def text(self) -> str:
        return self.payload.get("text", {}).get("content", "") if self.kind == "text" else ""

    def to_dict(self) -> dict:
        return {**asdict(self), "text": self.text}


class FakeWeChat:
    """The fake; one instance holds one account's state. Thread-safe."""

    def __init__(self, appid: str | None = None, secret: str | None = None, rng: random.Random | None = None):
        self.appid = appid
        self.secret = secret
        self._lock = threading.RLock()
        self._rng = rng or random.Random()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0  # requests being answered (a latency fault keeps them here)
        self.reset()

    # -- state, readable and changeable from Python -------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.tokens: dict[str, float] = {}  # token -> expiry (epoch)
            self.stable: str | None = None
            self.token_fetches = 0  # requests to token and stable_token
            self.calls: dict[str, int] = {}
            self.faults: dict[str, list[Fault]] = {}
            self.outbox: list[SentMessage] = []
            self.menu: dict | None = None
            self.unsubscribed: set[str] = set()
            self.delivery_status: dict[str, str] = {}
            self.reports: list[dict] = []  # TEMPLATESENDJOBFINISH reports not yet taken
            self.codes: dict[str, str] = {}
            self._msgids = itertools.count(int(time.time()) * 1000)

    def inject(self, endpoint: str, errcode: int | None = None, *, latency: float = 0.0,
               count: int | None = None, probability: float = 1.0) -> None:
        """Make `endpoint` (e.g. "message/template/send" or "cgi-bin/message/template/send")
        fail with `errcode` and/or wait `latency` seconds, `count` times (None: until
        cleared), each time with `probability`."""
        with self._lock:
            self.faults.setdefault(_endpoint(endpoint), []).append(Fault(latency, errcode, count, probability))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def revoke_tokens(self) -> None:
        """Invalidate every issued token (as if another system fetched a new one)."""
        with self._lock:
            self.tokens.clear()
            self.stable = None

    def unfollow(self, openid: str, subscribed: bool = False) -> None:
        with self._lock:
            (self.unsubscribed.add if not subscribed else self.unsubscribed.discard)(openid)

    def set_delivery_status(self, openid: str, status: str) -> None:
        """Template messages to `openid` from now on report this status (e.g.
        "failed:user block")."""
        with self._lock:
            self.delivery_status[openid] = status

    def sent(self, openid: str | None = None) -> list[SentMessage]:
        with self._lock:
            return [m for m in self.outbox if openid is None or m.openid == openid]

    def take_reports(self) -> list[dict]:
        """The TEMPLATESENDJOBFINISH reports WeChat would push to the account for template
        messages it accepted ({"openid", "msgid", "status"}), oldest first; each is given
        once. A message accepted after its caller timed out (a latency fault) has one too."""
        with self._lock:
            taken, self.reports = self.reports, []
            return taken

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no request is being answered (e.g. sends held by a latency fault after
        their callers gave up); False if that takes longer than `timeout` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def valid_token(self, token: str | None) -> bool:
        with self._lock:
            return bool(token) and self.tokens.get(token, 0) > time.time()

    # -- WSGI ----------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        return self.wsgi_app(environ, start_response)

    def wsgi_app(self, environ, start_response):
        request = Request(environ)
        with self._lock:
            self._in_flight += 1
        try:
            response = self.dispatch(request)
        except (ValueError, KeyError, TypeError) as error:
            response = _json({"errcode": 47001, "errmsg": f"data format error: {error}"})
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if "/_admin/" in path or path.startswith("_admin/"):
            return self._admin(path.split("_admin/", 1)[1], request)
        endpoint = next((e for e in ENDPOINTS if path.endswith("/" + e) or path == e), None)
        if endpoint is None:
            return Response("not found", status=404)
        with self._lock:
            self.calls[endpoint] = self.calls.get(endpoint, 0) + 1
            errcode, latency = self._fault_for(endpoint)
        if latency:
            time.sleep(latency)
        if errcode is not None:
            return _error(errcode)
        handler = getattr(self, "_" + endpoint.split("/", 1)[1].replace("/", "_"))
        return handler(request)

    def _fault_for(self, endpoint: str) -> tuple[int | None, float]:
        errcode, latency = None, 0.0
        for fault in list(self.faults.get(endpoint, [])):
            if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                continue
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self.faults[endpoint].remove(fault)
            latency = max(latency, fault.latency)
            errcode = fault.errcode if fault.errcode is not None else errcode
        return errcode, latency

    # -- tokens ----------------------------------------------------------------------------

    def _check_app(self, appid: str | None, secret: str | None) -> Response | None:
        if self.appid and appid != self.appid:
            return _error(40013)
        if self.secret and secret != self.secret:
            return _error(40125)
        return None

    def _new_token(self) -> str:
        token = "FAKE_" + secrets.token_urlsafe(24)
        self.tokens[token] = time.time() + TOKEN_TTL_S
        return token

    def _token(self, request: Request) -> Response:
        args = request.args
        with self._lock:
            self.token_fetches += 1
        refused = self._check_app(args.get("appid"), args.get("secret"))
        if refused:
            return refused
        with self._lock:
            return _json({"access_token": self._new_token(), "expires_in": TOKEN_TTL_S})

    def _stable_token(self, request: Request) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        with self._lock:
            self.token_fetches += 1
        refused = self._check_app(body.get("appid"), body.get("secret"))
        if refused:
            return refused
        with self._lock:
            if body.get("force_refresh") or not self.valid_token(self.stable):
                if self.stable:
                    self.tokens.pop(self.stable, None)
                self.stable = self._new_token()
            expires_in = int(self.tokens[self.stable] - time.time())
            return _json({"access_token": self.stable, "expires_in": expires_in})

    def _authorized(self, request: Request) -> Response | None:
        return None if self.valid_token(request.args.get("access_token")) else _error(40001)

    # -- messages ------------------------------------------------------------------------

    def _record(self, openid: str, kind: str, payload: dict) -> SentMessage:
        with self._lock:
            status = self.delivery_status.get(openid, "success") if kind == "template" else "success"
            message = SentMessage(str(next(self._msgids)), openid, kind, payload, status)
            self.outbox.append(message)
            if kind == "template":
                self.reports.append({"openid": openid, "msgid": message.msgid, "status": status})
            return message

    def _message_to_follower(self, request: Request) -> tuple[dict, Response | None]:
        """A message send's body, or WeChat's refusal (bad token, user not following)."""
        refused = self._authorized(request)
        if refused:
            return {}, refused
        body = json.loads(request.get_data() or b"{}")
        if body["touser"] in self.unsubscribed:
            return body, _error(43004)
        return body, None

    def _message_template_send(self, request: Request) -> Response:
        body, refused = self._message_to_follower(request)
        if refused:
            return refused
        if not body.get("template_id") or not isinstance(body.get("data"), dict):
            return _error(47001)
        message = self._record(body["touser"], "template", body)
        return _json({"errcode": 0, "errmsg": "ok", "msgid": int(message.msgid)})

    def _message_custom_send(self, request: Request) -> Response:
        body, refused = self._message_to_follower(request)
        if refused:
            return refused
        self._record(body["touser"], body["msgtype"], body)
        return _json({"errcode": 0, "errmsg": "ok"})

    def _menu_create(self, request: Request) -> Response:
        refused = self._authorized(request)
        if refused:
            return refused
        menu = json.loads(request.get_data() or b"{}")
        if not isinstance(menu.get("button"), list) or not menu["button"]:
            return _error(47001)
        with self._lock:
            self.menu = menu
        return _json({"errcode": 0, "errmsg": "ok"})

    def _menu_get(self, request: Request) -> Response:
        refused = self._authorized(request)
        if refused:
            return refused
        with self._lock:
            return _json({"menu": self.menu}) if self.menu else _error(46003)

    def _user_info(self, request: Request) -> Response:
        refused = self._authorized(request)
        if refused:
            return refused
        openid = request.args.get("openid", "")
        if openid in self.unsubscribed:
            return _json({"subscribe": 0, "openid": openid})
        return _json({"subscribe": 1, "openid": openid, "language": "zh_CN", "subscribe_time": clock.epoch(),
                      "subscribe_scene": "ADD_SCENE_QR_CODE"})

    # -- OAuth2 ------------------------------------------------------------------------

    def _oauth2_authorize(self, request: Request) -> Response:
        args = request.args
        if self.appid and args.get("appid") != self.appid:
            return Response("invalid appid", status=400)
        redirect_uri = args.get("redirect_uri")
        if not redirect_uri:
            return Response("redirect_uri missing", status=400)
        if not STATE.fullmatch(args.get("state", "")):
            return Response("state must be [a-zA-Z0-9], at most 128 bytes", status=400)
        openid = request.cookies.get("sim_openid") or args.get("openid") or DEFAULT_OPENID
        code = secrets.token_urlsafe(16)
        with self._lock:
            self.codes[code] = openid
        parts = urlsplit(redirect_uri)
        query = parse_qsl(parts.query) + [("code", code), ("state", args.get("state", ""))]
        return Response("", status=302, headers={"Location": urlunsplit(parts._replace(query=urlencode(query)))})

    def _oauth2_access_token(self, request: Request) -> Response:
        args = request.args
        refused = self._check_app(args.get("appid"), args.get("secret"))
        if refused:
            return refused
        with self._lock:
            openid = self.codes.pop(args.get("code", ""), None)
        if openid is None:
            return _error(40029)
        return _json({"access_token": "FAKE_OAUTH_" + secrets.token_urlsafe(12), "expires_in": 7200,
                      "refresh_token": secrets.token_urlsafe(12), "openid": openid, "scope": "snsapi_base"})

    def code_for(self, openid: str) -> str:
        """An OAuth2 code for `openid`, as if the user had just passed the authorize page."""
        code = secrets.token_urlsafe(16)
        with self._lock:
            self.codes[code] = openid
        return code

    # -- admin ---------------------------------------------------------------------------

    def _admin(self, what: str, request: Request) -> Response:
        if what == "outbox" and request.method == "GET":
            return _json([m.to_dict() for m in self.sent(request.args.get("openid"))])
        if what == "reports/take" and request.method == "POST":
            return _json(self.take_reports())
        if what == "stats" and request.method == "GET":
            with self._lock:
                return _json({"token_fetches": self.token_fetches, "calls": dict(self.calls),
                              "valid_tokens": sum(1 for t in self.tokens if self.valid_token(t))})
        if what == "faults" and request.method == "POST":
            spec: dict[str, Any] = request.get_json(force=True)
            self.inject(spec["endpoint"], spec.get("errcode"), latency=float(spec.get("latency", 0)),
                        count=spec.get("count"), probability=float(spec.get("probability", 1.0)))
            return _json({"ok": True})
        if what == "faults" and request.method == "DELETE":
            self.clear_faults()
            return _json({"ok": True})
        if what == "users" and request.method == "POST":
            spec = request.get_json(force=True)
            self.unfollow(spec["openid"], subscribed=bool(spec.get("subscribed", False)))
            return _json({"ok": True})
        if what == "reset" and request.method == "POST":
            self.reset()
            return _json({"ok": True})
        return Response("not found", status=404)


_SHORT = {e.split("/", 1)[1]: e for e in ENDPOINTS}


def _endpoint(name: str) -> str:
    name = name.strip("/")
    if name in ENDPOINTS:
        return name
    if name in _SHORT:
        return _SHORT[name]
    if "oauth2/" + name in _SHORT:
        return _SHORT["oauth2/" + name]
    raise ValueError(f"unknown endpoint {name!r}; one of {ENDPOINTS}")


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


def _error(errcode: int) -> Response:
    return _json({"errcode": errcode, "errmsg": ERRMSG.get(errcode, "error")})


def serve(port: int = 0, fake: FakeWeChat | None = None):
    """Serve a fake on 127.0.0.1 in a background thread; returns (server, base_url).
    The fake is `server.fake`; stop with `server.shutdown()`."""
    from werkzeug.serving import make_server

    fake = fake or FakeWeChat()
    server = make_server("127.0.0.1", port, fake, threaded=True)
    server.fake = fake  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-wechat",
                     daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/"

"""The simulator: a phone-shaped page for playing a WeChat user against the local stack.

Mount `make_app(stack_url)` at /_local/simulator/ on the stack's own origin (the H5 pages
open in an iframe, and outside AWS their policy lets only their own origin frame them:
`frame-ancestors 'self'`). Every chat action goes through
the real webhook over HTTP, signed and optionally encrypted as WeChat would (wechat_side);
the core-banking panel publishes on the notify queue; the outbox reads what the fake WeChat
API and SNS recorded. Nothing here calls a feature directly."""
from __future__ import annotations

import json
import secrets
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from werkzeug.exceptions import BadRequest, HTTPException, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.utils import redirect, send_from_directory
from werkzeug.wrappers import Request, Response

from infra.local.simulator import bank, demo, outbox, wechat_side
from infra.local.simulator.places import PLACES

HERE = Path(__file__).parent
OPENID_COOKIE = "sim_openid"
SESSION_COOKIE = "wxsession"


class Simulator:
    """State of one simulator: the users created so far and the stack it talks to."""

    def __init__(self, stack_url: str, encrypt: bool = True, api_url: str | None = None):
        self.stack_url = stack_url.rstrip("/")
        self.api_url = (api_url or stack_url).rstrip("/")  # under a stage or base path, if mounted so
        self.encrypt = encrypt
        self._lock = threading.Lock()
        self.users: dict[str, dict[str, str]] = {u["openid"]: u for u in demo.users()}
        self.reported: set[str] = set()  # template msgids whose delivery WeChat has reported
        self.url_map = Map(
            [
                Rule("/", endpoint="page"),
                Rule("/static/<path:name>", endpoint="static"),
                Rule("/api/state", endpoint="state", methods=["GET"]),
                Rule("/api/users", endpoint="create_user", methods=["POST"]),
                Rule("/api/login", endpoint="login", methods=["POST"]),
                Rule("/api/send", endpoint="send", methods=["POST"]),
                Rule("/api/outbox", endpoint="outbox", methods=["GET"]),
                Rule("/api/bank", endpoint="bank", methods=["GET", "POST"]),
            ],
            strict_slashes=True,
        )

    # --- WSGI ---------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match()
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except RequestRedirect as moved:  # /_local/simulator → /_local/simulator/
            response = moved.get_response(environ)
        except HTTPException as error:
            response = _json({"error": error.name, "message": error.description}, error.code or 500)
        except requests.RequestException as error:
            response = _json({"error": "Bad Gateway", "message": f"本地服务无响应：{type(error).__name__}"}, 502)
        return response(environ, start_response)

    # --- pages --------------------------------------------------------------------------
    def on_page(self, request: Request) -> Response:
        if request.host_url.rstrip("/") != self.stack_url:
            # the H5 pages, OAuth and cookies all live on the stack's own origin
            # (PUBLIC_BASE_URL); served from another name (localhost), the frame would break
            return redirect(f"{self.stack_url}{request.script_root}/", 302)
        html = (HERE / "templates" / "index.html").read_text(encoding="utf-8")
        response = Response(html, mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
        return response

    def on_static(self, request: Request, name: str) -> Response:
        response = send_from_directory(str(HERE / "static"), name, request.environ)
        response.headers["Cache-Control"] = "no-cache"
        return response

    # --- users --------------------------------------------------------------------------
    def on_state(self, request: Request) -> Response:
        current = request.cookies.get(OPENID_COOKIE)
        return _json(
            {
                "users": list(self.users.values()),
                "current": current if current in self.users else None,
                "menu": load_menu(),
                "places": PLACES,
                "encrypt": self.encrypt,
                "account": {"name": "甬城银行", "id": wechat_side.ACCOUNT_ID},
            }
        )

    def on_create_user(self, request: Request) -> Response:
        body = _body(request)
        nickname = str(body.get("nickname") or "").strip()[:16] or "新用户"
        openid = str(body.get("openid") or "").strip() or _new_openid()
        if not openid.replace("_", "").replace("-", "").isalnum() or not 6 <= len(openid) <= 64:
            raise BadRequest("openid 只能包含字母、数字、- 和 _，长度 6–64")
        with self._lock:
            self.users.setdefault(openid, {"openid": openid, "nickname": nickname})
        response = self._login(openid)
        # a new follower: WeChat pushes a subscribe event, the account answers with its welcome;
        # a user the browser restores after a restart of the stack follows already
        exchange = None if body.get("restore") else self._push(openid, wechat_side.event(openid, "subscribe"))
        response.set_data(json.dumps({"user": self.users[openid], "exchange": exchange}, ensure_ascii=False))
        return response

    def on_login(self, request: Request) -> Response:
        openid = str(_body(request).get("openid") or "")
        if openid not in self.users:
            raise NotFound("没有这个用户")
        response = self._login(openid)
        response.set_data(json.dumps({"user": self.users[openid]}, ensure_ascii=False))
        return response

    def _login(self, openid: str) -> Response:
        """Choose the user the fake WeChat's OAuth step will name, and drop the H5 session of
        the previous user so the pages log in again."""
        response = _json({})
        response.set_cookie(OPENID_COOKIE, openid, path="/", samesite="Lax")
        response.delete_cookie(SESSION_COOKIE, path=urlsplit(self.api_url).path + "/")
        return response

    # --- chat ---------------------------------------------------------------------------
    def on_send(self, request: Request) -> Response:
        body = _body(request)
        openid = str(body.get("openid") or "")
        if openid not in self.users:
            raise BadRequest("请先选择用户")
        if "encrypt" in body:
            self.encrypt = bool(body["encrypt"])
        kind = body.get("type")
        if kind == "text":
            content = str(body.get("content") or "").strip()
            if not content:
                raise BadRequest("消息不能为空")
            xml = wechat_side.text(openid, content[:600])
        elif kind in ("location", "location_select"):
            lat, lng = _coordinate(body.get("lat"), -90, 90), _coordinate(body.get("lng"), -180, 180)
            label = str(body.get("label") or "")[:100]
            if kind == "location":
                xml = wechat_side.location(openid, lat, lng, label)
            else:
                xml = wechat_side.location_select(openid, str(body.get("key") or ""), lat, lng, label)
        elif kind in ("click", "view"):
            key = str(body.get("key") or "")
            if not key:
                raise BadRequest("缺少菜单 key")
            xml = wechat_side.event(openid, "CLICK" if kind == "click" else "VIEW", key)
        else:
            raise BadRequest("未知的消息类型")
        return _json(self._push(openid, xml))

    def _push(self, openid: str, xml: str) -> dict[str, Any]:
        creds = wechat_side.Credentials.from_environment()
        exchange = wechat_side.push(f"{self.api_url}/wechat", xml, openid, creds, encrypt=self.encrypt)
        return {
            "status": exchange.status,
            "encrypted": exchange.encrypted,
            "request_xml": exchange.request_xml,
            "reply_xml": exchange.reply_xml,
            "reply": exchange.reply,
        }

    # --- outbox and core banking --------------------------------------------------------
    def on_outbox(self, request: Request) -> Response:
        openid = request.args.get("openid", "")
        if openid not in self.users:
            raise BadRequest("请先选择用户")
        box = outbox.for_user(self.stack_url, openid)
        self._report_deliveries(openid, box["templates"])
        return _json(box)

    def _report_deliveries(self, openid: str, templates: list[dict[str, Any]]) -> None:
        """WeChat reports each template message's fate to the account (TEMPLATESENDJOBFINISH);
        the simulator does so the first time it sees the message."""
        for message in templates:
            with self._lock:
                if message["msgid"] in self.reported:
                    continue
                self.reported.add(message["msgid"])
            self._push(openid, wechat_side.template_finished(openid, message["msgid"], message["status"]))

    def on_bank(self, request: Request) -> Response:
        if request.method == "GET":
            openid = request.args.get("openid", "")
            return _json(bank.overview(openid))
        return _json(bank.emit(_body(request)))


def load_menu() -> dict:
    """The very file `menu push` uploads to WeChat (infra/menu.json), read on every page load
    so an edited menu shows at once."""
    from infra.cli.menu import MENU

    return json.loads(MENU.read_text(encoding="utf-8"))


def make_app(stack_url: str, encrypt: bool = True, api_url: str | None = None) -> Simulator:
    """The simulator's WSGI app; `stack_url` is the local stack's base URL, `api_url` the
    API's (its webhook is `{api_url}/wechat`; the stack's URL unless the API is mounted under
    a stage or base path)."""
    return Simulator(stack_url, encrypt=encrypt, api_url=api_url)


def _new_openid() -> str:
    """An openid shaped like WeChat's (28 characters)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "oSim" + "".join(secrets.choice(alphabet) for _ in range(24))


def _coordinate(value: Any, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadRequest("坐标格式错误") from None
    if not low <= number <= high:
        raise BadRequest("坐标超出范围")
    return number


def _body(request: Request) -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("请求格式错误")
    return data


def _json(body: Any, status: int = 200) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response

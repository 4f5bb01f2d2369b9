"""/_local/: what the local stack runs and a few levers (fire a schedule, drain the queues,
move the clock).

  GET  /_local/                       an overview page
  GET  /_local/health                 {"status": "ok", ...}
  GET  /_local/routes | functions | schedules | queues
  POST /_local/schedules/<name>/fire  run a schedule's function now
  POST /_local/queues/drain           deliver queued messages until none is visible
  POST /_local/core-banking/settle    core banking answers every waiting wealth order now
  GET  /_local/clock                  the functions' clock: {"now", "local", "set"}
  POST /_local/clock                  {"at": "2026-11-16T15:30"} runs it on from then (Asia/Shanghai
                                      without an offset); {"at": null} goes back to the real time
  GET  /_local/env                    the environment another process needs to reach this stack
  GET  /_local/static/weui.min.css    WeUI from node_modules (WEUI_CSS_URL)
"""
from __future__ import annotations

import html
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from functions.common import clock
from infra.local import slsconfig
from infra.local.gateway import routes_from
from infra.local.lambdas import FunctionError
from infra.local.schedules import Schedule, Scheduler

WEUI_CSS = slsconfig.ROOT / "node_modules" / "weui" / "dist" / "style" / "weui.min.css"
DONE_MAX = 600  # characters of a lever's result the overview page repeats

URLS = Map([
    Rule("/_local/", endpoint="index", methods=["GET"]),
    Rule("/_local/health", endpoint="health", methods=["GET"]),
    Rule("/_local/routes", endpoint="routes", methods=["GET"]),
    Rule("/_local/functions", endpoint="functions", methods=["GET"]),
    Rule("/_local/schedules", endpoint="schedules", methods=["GET"]),
    Rule("/_local/schedules/<name>/fire", endpoint="fire", methods=["POST"]),
    Rule("/_local/queues", endpoint="queues", methods=["GET"]),
    Rule("/_local/queues/drain", endpoint="drain", methods=["POST"]),
    Rule("/_local/core-banking/settle", endpoint="settle", methods=["POST"]),
    Rule("/_local/env", endpoint="env", methods=["GET"]),
    Rule("/_local/clock", endpoint="clock", methods=["GET", "POST"]),
    Rule("/_local/static/weui.min.css", endpoint="weui", methods=["GET"]),
], strict_slashes=False)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                    content_type="application/json; charset=utf-8")


class Stack(Protocol):
    """What the admin routes read and pull on (infra.local.stack.LocalStack)."""

    ready: bool
    config: slsconfig.ServerlessConfig
    schedules: list[Schedule]
    scheduler: Scheduler
    fake_wechat: Any
    demo_results: dict[str, Any]

    @property
    def url(self) -> str: ...

    def fire_schedule(self, name: str) -> Any: ...

    def queue_depths(self) -> list[dict[str, Any]]: ...

    def drain_queues(self, max_batches: int = ...) -> int: ...

    def settle_orders(self) -> int: ...

    def client_environment(self) -> dict[str, str]: ...

    def urls(self) -> dict[str, str]: ...

    def set_clock(self, at: datetime | None) -> None: ...


class Admin:
    def __init__(self, stack: Stack):
        self.stack = stack

    def __call__(self, request: Request) -> Response | None:
        """The answer for a /_local/ path, or None to let the gateway route it."""
        adapter = URLS.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return None
        except HTTPException as error:
            return error.get_response()
        return getattr(self, endpoint)(request, **args)

    def health(self, request: Request) -> Response:
        stack = self.stack
        return _json({"status": "ok" if stack.ready else "starting", "url": stack.url, "stage": stack.config.stage,
                      "functions": len(stack.config.functions), "routes": len(routes_from(stack.config)),
                      "schedules": len(stack.schedules), "fake_wechat": stack.fake_wechat is not None,
                      "demo": stack.demo_results}, 200 if stack.ready else 503)

    def routes(self, request: Request) -> Response:
        return _json([{"method": r.method, "path": r.path, "function": r.function}
                      for r in routes_from(self.stack.config)])

    def functions(self, request: Request) -> Response:
        config = self.stack.config
        return _json([{"key": key, "name": config.function_name(key), "handler": f.handler, "timeout": f.timeout,
                       "events": sorted({next(iter(e)) for e in f.events if isinstance(e, dict)})}
                      for key, f in config.functions.items()])

    def schedules(self, request: Request) -> Response:
        return _json([s.describe() for s in self.stack.schedules])

    def fire(self, request: Request, name: str) -> Response:
        try:
            schedule = self.stack.scheduler.get(name)
        except KeyError:
            return _json({"message": f"no schedule {name}"}, 404)
        try:
            result = self.stack.fire_schedule(schedule.name)
        except FunctionError as error:
            answer = {"schedule": schedule.name, "function": schedule.function, "ok": False, "error": error.payload}
            return _done(request, answer, 500, f"Fired {schedule.name} ({schedule.function}): failed, "
                                               f"{json.dumps(error.payload, ensure_ascii=False)}")
        answer = {"schedule": schedule.name, "function": schedule.function, "ok": True, "result": result}
        return _done(request, answer, 200, f"Fired {schedule.name} ({schedule.function}): "
                                           f"{json.dumps(result, ensure_ascii=False, default=str)}")

    def queues(self, request: Request) -> Response:
        return _json(self.stack.queue_depths())

    def drain(self, request: Request) -> Response:
        delivered = self.stack.drain_queues()
        return _done(request, {"delivered": delivered}, 200, f"Delivered {delivered} queued message(s)")

    def settle(self, request: Request) -> Response:
        answered = self.stack.settle_orders()
        return _done(request, {"answered": answered}, 200, f"Core banking answered {answered} wealth order(s)")

    def env(self, request: Request) -> Response:
        return _json(self.stack.client_environment())

    def clock(self, request: Request) -> Response:
        if request.method == "POST":
            value = (request.get_json(silent=True) or {}).get("at") if request.is_json else request.form.get("at")
            try:
                at = clock.parse_setting(str(value)) if value else None
            except ValueError:
                return _json({"code": "invalid_clock", "message": f"not an ISO-8601 time: {value!r}"}, 400)
            self.stack.set_clock(at)
            now = _clock_state()
            return _done(request, now, 200, f"Clock {'set to' if now['set'] else 'back to real time:'} {now['local']}")
        return _json(_clock_state())

    def weui(self, request: Request) -> Response:
        path = weui_css()
        if path is None:
            return _json({"message": "node_modules/weui is missing: run `npm ci`"}, 404)
        return Response(path.read_bytes(), content_type="text/css; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=3600"})

    def index(self, request: Request) -> Response:
        stack = self.stack
        esc = html.escape
        links = "".join(f'<li><a href="{esc(url)}">{esc(label)}</a></li>' for label, url in stack.urls().items())
        routes = "".join(f"<tr><td>{esc(r.method)}</td><td>{esc(r.path)}</td><td>{esc(r.function)}</td></tr>"
                         for r in routes_from(stack.config))
        schedules = "".join(
            f"<tr><td>{esc(s['name'])}</td><td>{esc(s['function'])}</td><td>{esc(' '.join(s['expressions']))}"
            f"<br><small>{esc(s['timezone'])}; next {esc(s['next_local'] or '-')}</small></td>"
            f"<td><form method=post action=\"/_local/schedules/{esc(s['name'])}/fire\">"
            f"<button class=\"weui-btn weui-btn_mini weui-btn_primary\">Fire now</button></form></td></tr>"
            for s in (x.describe() for x in stack.schedules))
        queues = "".join(
            f"<tr><td>{esc(q['name'])}</td><td>{q['visible']}</td><td>{q['in_flight']}</td>"
            f"<td>{esc(', '.join(q['consumers']) or '-')}</td></tr>" for q in stack.queue_depths())
        now = _clock_state()
        done = request.args.get("done", "")[:DONE_MAX]
        banner = f'<p class="done" role="status" data-done>{esc(done)}</p>' if done else ""
        page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Local stack</title><link rel="stylesheet" href="/_local/static/weui.min.css">
<style>body{{padding:12px;font-size:14px}} table{{border-collapse:collapse;width:100%;margin-bottom:16px}}
td,th{{border-bottom:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top}}
.done{{background:#e7f8ee;padding:8px;word-break:break-all}}</style></head>
<body><h2>Local stack</h2>{banner}<ul>{links}</ul>
<h3>Clock</h3><form method=post action="/_local/clock"><p>{esc(now["local"])}
{"(set)" if now["set"] else "(real time)"}</p><input name=at placeholder="2026-11-16T15:30 (Asia/Shanghai)">
<button class="weui-btn weui-btn_mini weui-btn_default">Set</button></form>
<h3>Schedules</h3><table><tr><th>name</th><th>function</th><th>when</th><th></th></tr>{schedules}</table>
<h3>Queues</h3><table><tr><th>queue</th><th>visible</th><th>in flight</th><th>consumers</th></tr>{queues}</table>
<form method=post action="/_local/queues/drain"><button class="weui-btn weui-btn_mini weui-btn_default">
Deliver now</button></form>
<form method=post action="/_local/core-banking/settle"><button class="weui-btn weui-btn_mini weui-btn_default">
Core banking: answer wealth orders now</button></form>
<h3>Routes</h3><table><tr><th>method</th><th>path</th><th>function</th></tr>{routes}</table></body></html>"""
        return Response(page, content_type="text/html; charset=utf-8")


def _done(request: Request, answer: dict[str, Any], status: int, summary: str) -> Response:
    """A lever's answer: JSON for programs; for the overview page's forms, back to the page,
    which says what was done (`?done=`)."""
    if not _wants_html(request):
        return _json(answer, status)
    return redirect("/_local/?" + urlencode({"done": summary[:DONE_MAX]}), 303)


def _clock_state() -> dict[str, Any]:
    now = clock.now()
    return {"now": clock.iso(now), "local": clock.local(now).isoformat(timespec="seconds"), "set": clock.is_set()}


def weui_css() -> Path | None:
    return WEUI_CSS if WEUI_CSS.is_file() else None


def _wants_html(request: Request) -> bool:
    """A form post from the overview page (answered with a redirect back to it)."""
    return request.mimetype == "application/x-www-form-urlencoded" and request.accept_mimetypes.accept_html

"""Every URL the product hands out, built here and nowhere else.

The API is never served from the root of its host alone. From API Gateway's own URL every
path carries the stage (`https://{id}.execute-api.{region}.amazonaws.com.cn/dev/booking`);
behind a custom domain it carries the base path the stage is mapped to (`/wx/booking`), or
nothing when the stage is mapped to the domain's root. Routes are written from the API's
root (`/booking`), so a link, a form action or a redirect built from a route alone leaves
the API.

Two bases, one rule each:
- `link`: what a page or a redirect sends the same browser to. Relative to where the request
  being answered arrived: its prefix is what API Gateway's REST event has in
  `requestContext.path` before the route's own path (the stage from execute-api's URL, the
  base path from a custom domain; `path` alone says neither reliably: it lacks the stage on
  execute-api's URL and carries the base path on a custom domain). So the same page works
  on both hosts.
- `absolute`: what leaves the browser: chat replies, template messages, the OAuth
  redirect URI, the pages the JS-SDK may sign. Built on the `PUBLIC_BASE_URL` setting, which
  may carry a path (`https://wx.example-bank.cn/wx`): the domain WeChat was told about.

Paths given to both are app paths: from the API's root, starting with "/".
"""
from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any
from urllib.parse import urlencode, urlsplit

from functions.common import config

_prefix: ContextVar[str | None] = ContextVar("url_prefix", default=None)


def absolute(path: str, **query: Any) -> str:
    """`path` on the public base URL (for anything read outside this request's page)."""
    return config.settings().public_base_url + _with_query(path, query)


def link(path: str, **query: Any) -> str:
    """`path` under the prefix the current request came with: for hrefs, form actions and
    redirects. Outside a request, under the public base URL's path."""
    return prefix() + _with_query(path, query)


def prefix() -> str:
    """The path the API's root is at for the request being answered ('' at the root)."""
    found = _prefix.get()
    return base_path() if found is None else found


def base_path() -> str:
    """The path of the public base URL ('' when it is a bare origin)."""
    return urlsplit(config.settings().public_base_url).path.rstrip("/")


def cookie_path() -> str:
    """The Path of cookies meant for every page of the API, and for nothing beside it on
    the same host."""
    return prefix() + "/"


def app_path(resource: str, params: dict[str, str] | None) -> str:
    """The request's path from the API's root: its resource with the path parameters put
    back (`/booking/b/{booking_id}` → `/booking/b/b-1`)."""
    path = resource
    for name, value in (params or {}).items():
        path = path.replace(f"{{{name}+}}", value).replace(f"{{{name}}}", value)
    return path


def request_prefix(context: dict[str, Any], resource: str, params: dict[str, str] | None) -> str:
    """The prefix a REST v1 request arrived under: `requestContext.path` less as many
    segments as the route has (the stage on execute-api's URL, a base path on a custom
    domain). Counted on the resource, so an encoded "/" in a parameter does not shift it."""
    full = [s for s in str(context.get("path") or "").split("/") if s]
    own = 0
    for segment in (s for s in resource.split("/") if s):
        greedy = segment.startswith("{") and segment.endswith("+}")
        own += len([s for s in str((params or {}).get(segment[1:-2], "")).split("/") if s]) if greedy else 1
    if len(full) < own:
        return ""
    return "".join("/" + s for s in full[: len(full) - own])


def serve(context: dict[str, Any], resource: str, params: dict[str, str] | None) -> Token[str | None]:
    """Make the request's prefix the one `link` uses; returns the token `restore` takes."""
    return _prefix.set(request_prefix(context, resource, params))


def restore(token: Token[str | None]) -> None:
    _prefix.reset(token)


def _with_query(path: str, query: dict[str, Any]) -> str:
    if not path.startswith("/"):
        raise ValueError(f"an app path starts with '/': {path!r}")
    wanted = {k: v for k, v in query.items() if v is not None and v != ""}
    return f"{path}?{urlencode(wanted)}" if wanted else path

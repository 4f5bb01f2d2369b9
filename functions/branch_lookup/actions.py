"""What customers and the other features can ask of branch lookup: the nearest branches,
a text search, one branch, the JS-SDK config of a branch page, and branch data for booking
(the contract is functions/common/branches.py). service.py's rules on store.py's tables."""
from __future__ import annotations

import secrets
from typing import Any

from functions.branch_lookup import service, spatial, store
from functions.common import clock, config, urls
from functions.common.errors import ServiceUnavailable, Validator


def _published(branch: dict[str, Any], distance_m: float | None = None) -> dict[str, Any]:
    return service.public(branch, urls.absolute(service.page_path(branch["id"])), distance_m)


def nearby(params: dict[str, str]) -> list[dict[str, Any]]:
    """The nearby route: the k nearest branches that pass its filters, as published."""
    wanted = service.nearby_params(params)
    found = service.nearby(store, wanted["lat"], wanted["lng"], wanted["k"], service=wanted["service"],
                           kind=wanted["kind"], open_now=wanted["open_now"])
    return [_published(f.branch, f.distance_m) for f in found]


def search(q: str) -> list[dict[str, Any]]:
    """Branches matching a customer's words (a district, street or name)."""
    return service.search(store, service.parse(q))


def public(branch: dict[str, Any]) -> dict[str, Any]:
    """A branch as the JSON routes publish it: with today's status and its page."""
    return _published(branch)


def branch(branch_id: str) -> dict[str, Any]:
    return service.one(store, branch_id)


def jssdk_config(url: str) -> dict[str, object]:
    """`wx.config` values for one of our branch pages (the part before any #): the page's
    navigate button calls wx.openLocation, which needs a config signed with the jsapi ticket
    (wechatpy caches the ticket in the shared session storage). Pages fall back to a plain
    map link without it."""
    settings = config.settings()
    url = url.split("#", 1)[0]
    v = Validator()
    if not url.startswith(urls.absolute("/branches/")):
        v.add("url", "invalid_url", "只能为本行网点页面签名")
    v.check()
    from functions.common.wechat.client import get_client
    from functions.common.wechat.errors import WeChatError

    client = get_client()
    try:
        ticket = client.jsapi.get_jsapi_ticket()
    except (WeChatError, OSError, KeyError) as error:
        raise ServiceUnavailable("微信服务暂不可用") from error
    nonce, timestamp = secrets.token_hex(8), clock.epoch()
    return {"appId": settings.wechat_app_id, "timestamp": timestamp, "nonceStr": nonce,
            "signature": client.jsapi.get_jsapi_signature(nonce, ticket, timestamp, url)}


def listed(event: dict[str, Any]) -> dict[str, Any]:
    """The catalogue's summaries of the branches asked (all when no ids), in the order asked;
    each with its distance from the request's point or, with an openid, from the user's last
    location when known."""
    ids = [str(i) for i in event.get("ids") or []]
    found = {b["id"]: b for b in store.catalogue()}
    summaries = [found[i] for i in ids if i in found] if ids else sorted(found.values(), key=lambda b: b["id"])
    if event.get("bookable") is not None:
        summaries = [b for b in summaries if b["bookable"] == bool(event["bookable"])]
    if "lat" in event:
        located: tuple[float, float] | None = _point(event)
    else:
        located = store.last_location(str(event["openid"])) if event.get("openid") else None
    if located:
        summaries = [{**b, "distance_m": round(spatial.distance_m(*located, b["lat"], b["lng"]))} for b in summaries]
    return {"branches": summaries, **({"located": bool(located)} if event.get("openid") else {})}


def _point(event: dict[str, Any]) -> tuple[float, float]:
    """A request's point in GCJ-02: a browser's geolocation says its datum (WGS-84)."""
    lat, lng = float(event["lat"]), float(event["lng"])
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise ValueError("lat/lng out of range")
    if event.get("datum"):
        from functions.branch_lookup.importing import to_gcj02

        lat, lng = to_gcj02(lat, lng, str(event["datum"]))
    return lat, lng


def branch_query(event: dict[str, Any]) -> dict[str, Any]:
    """Branch data for the other features: `get` by ids, the `list` of summaries, or the
    `nearest` to a point or to an openid's last location. Raises ValueError on a request the
    contract does not allow."""
    op = event.get("op")
    if op == "get":
        return {"branches": store.get([str(i) for i in event.get("ids") or []])}
    if op == "list":
        return listed(event)
    if op != "nearest":
        raise ValueError(f"unknown op {op!r}")
    k = int(event.get("k", 5))
    if not 1 <= k <= service.MAX_K:
        raise ValueError(f"k must be 1..{service.MAX_K}")
    if event.get("openid"):
        located = store.last_location(str(event["openid"]))
        if not located:
            return {"branches": [], "located": False}
        lat, lng = located
    else:
        lat, lng = _point(event)
    found = service.nearby(store, lat, lng, k, service=event.get("service"), bookable=event.get("bookable"))
    return {"branches": [{**f.branch, "distance_m": round(f.distance_m or 0)} for f in found]}

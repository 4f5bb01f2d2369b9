"""branch_lookup: Chalice glue. Routes parse input, call the service and shape the answer."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from functions.branch_lookup import replies, service, store
from functions.branch_lookup.spatial import RADIUS_CAP_M
from functions.common import config, http, intents, pages
from functions.common.intents import Intent, Reply

app = http.FeatureApp(app_name="branch_lookup")
PAGES = Path(__file__).parent / "pages"


def _base() -> str:
    return config.settings().public_base_url


@app.route("/branches/health")
def health():
    return {"status": "ok"}


@app.route("/branches/api/nearby")
def api_nearby():
    params = service.nearby_params(app.current_request.query_params or {})
    found = service.nearby(store, params["lat"], params["lng"], params["k"], service=params["service"],
                           kind=params["kind"], open_now=params["open_now"])
    return http.json_response({"branches": [service.public(f.branch, _base(), f.distance_m) for f in found]})


@app.route("/branches/api/search")
def api_search():
    q = service.search_params(app.current_request.query_params or {})
    found = service.search(store, service.parse(q))
    return http.json_response({"branches": [service.public(b, _base()) for b in found]})


@app.route("/branches/api/branch/{branch_id}")
def api_branch(branch_id):
    return http.json_response(service.public(service.one(store, branch_id), _base()))


@app.route("/branches/api/jssdk")
def api_jssdk():
    """JS-SDK config for a page of ours (the branch page's navigate button)."""
    from functions.branch_lookup import jssdk

    return http.json_response(jssdk.config_for((app.current_request.query_params or {}).get("url", "")))


@app.route("/branches/view/{branch_id}")
def branch_page(branch_id):
    from functions.branch_lookup import hours

    branch = service.one(store, branch_id)
    return http.html_response(pages.render(PAGES, "branch.html", branch=branch, status=hours.status(branch),
                                           week=hours.week(branch), **service.labels()))


@app.route("/branches/search")
def search_page():
    q = (app.current_request.query_params or {}).get("q", "").strip()[: service.MAX_QUERY]
    found = service.search(store, service.parse(q)) if q else []
    return http.html_response(pages.render(PAGES, "list.html", q=q, branches=found, base=_base(),
                                           **service.labels()))


def _near_point(lat: float, lng: float, what: str | None) -> Reply:
    found = service.nearby(store, lat, lng, 3, service=what)
    if not found:
        return Reply.say(replies.none_near(config.settings().hotline, RADIUS_CAP_M, what))
    return Reply.say(replies.nearest(found, _base(), what=what))


def _near_user(openid: str, what: str | None) -> Reply:
    located = store.last_location(openid)
    return _near_point(*located, what) if located else Reply.say(replies.ask_location())


def _search(intent: Intent) -> Reply:
    """The branches a search names (a district, a street, a branch); a service without a
    place ("能换外汇的"): the nearest that offer it."""
    query = service.parse(intent.query)
    what = intent.service or query.service
    if not (query.terms or query.district):
        return _near_user(intent.openid, what) if what else Reply.nothing()
    found = service.search(store, replace(query, service=what))
    if found:
        return Reply.say(replies.matches(found, _base(), intent.query.strip()))
    # a place we do not know: the webhook sends its help text
    return Reply.nothing() if query.terms else Reply.say(replies.none_found(intent.query.strip(),
                                                                             config.settings().hotline))


def answer(intent: Intent) -> Reply:
    """Locations → the nearest branches; branch.nearby → near the last location;
    branch.search → a search; auto-reported locations are kept (a day) for the other
    features and get no reply."""
    point = service.point(intent.location) if intent.location else None
    if intent.kind in ("location", "location_report") and point:
        store.save_location(intent.openid, *point)
        if intent.kind == "location":
            return _near_point(*point, None)
    elif intent.name == intents.BRANCH_NEARBY:
        return _near_user(intent.openid, intent.service or None)
    elif intent.name == intents.BRANCH_SEARCH and intent.query.strip():
        return _search(intent)
    return Reply.nothing()


intent = app.lambda_function(name="intent")(intents.handler(answer))


@app.lambda_function(name="query")
def query(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Branch data for the other features (the contract is in functions/common/branches.py)."""
    op = event.get("op")
    if op == "get":
        return {"branches": store.get([str(i) for i in event.get("ids") or []])}
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
        lat, lng = float(event["lat"]), float(event["lng"])
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise ValueError("lat/lng out of range")
    found = service.nearby(store, lat, lng, k, service=event.get("service"), bookable=event.get("bookable"))
    return {"branches": [{**f.branch, "distance_m": round(f.distance_m or 0)} for f in found]}

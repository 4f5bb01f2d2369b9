"""branch_lookup: Chalice glue. Routes parse input, call an action and shape the answer.

Pages: /branches/view/{id}, /branches/search. JSON: /branches/api/...; `query` answers
the other features (functions/common/branches.py).
"""
from __future__ import annotations

from typing import Any

from functions.branch_lookup import actions, screens, service
from functions.common import http
from functions.common.http import Field

app = http.FeatureApp(app_name="branch_lookup")
# What each operation takes (the types and sizes; the rules are the service's)
NEARBY = {"lat": Field(32), "lng": Field(32), "k": Field(16), "service": Field(32), "kind": Field(32),
          "open_now": Field(16)}
SEARCH = {"q": Field(200)}
PAGE = {"url": Field(2000)}


@app.route("/branches/health")
def health():
    return {"status": "ok"}


@app.route("/branches/api/nearby")
def api_nearby():
    return http.json_response({"branches": actions.nearby(http.query(app.current_request, NEARBY))})


@app.route("/branches/api/search")
def api_search():
    found = actions.search(service.search_params(http.query(app.current_request, SEARCH)))
    return http.json_response({"branches": [actions.public(b) for b in found]})


@app.route("/branches/api/branch/{branch_id}")
def api_branch(branch_id):
    return http.json_response(actions.public(actions.branch(branch_id)))


@app.route("/branches/api/jssdk")
def api_jssdk():
    """JS-SDK config for a page of ours (the branch page's navigate button)."""
    return http.json_response(actions.jssdk_config(http.query(app.current_request, PAGE).get("url", "")))


@app.route("/branches/view/{branch_id}")
def branch_page(branch_id):
    return http.html_response(screens.branch(branch_id))


@app.route("/branches/search")
def search_page():
    return http.html_response(screens.search(http.query(app.current_request, SEARCH).get("q", "")))


@app.lambda_function(name="query")
def query(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Branch data for the other features (the contract is in functions/common/branches.py)."""
    return actions.branch_query(event)

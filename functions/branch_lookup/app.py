"""branch_lookup: Chalice glue. Routes parse input, call an action and shape the answer.

Pages: /branches/view/{id}, /branches/search. JSON: /branches/api/...; `query` answers
the other features (functions/common/branches.py).
"""
from __future__ import annotations

from typing import Any

from functions.branch_lookup import actions, screens, service
from functions.common import http

app = http.FeatureApp(app_name="branch_lookup")


@app.route("/branches/health")
def health():
    return {"status": "ok"}


@app.route("/branches/api/nearby")
def api_nearby():
    return http.json_response({"branches": actions.nearby(app.current_request.query_params or {})})


@app.route("/branches/api/search")
def api_search():
    found = actions.search(service.search_params(app.current_request.query_params or {}))
    return http.json_response({"branches": [actions.public(b) for b in found]})


@app.route("/branches/api/branch/{branch_id}")
def api_branch(branch_id):
    return http.json_response(actions.public(actions.branch(branch_id)))


@app.route("/branches/api/jssdk")
def api_jssdk():
    """JS-SDK config for a page of ours (the branch page's navigate button)."""
    return http.json_response(actions.jssdk_config((app.current_request.query_params or {}).get("url", "")))


@app.route("/branches/view/{branch_id}")
def branch_page(branch_id):
    return http.html_response(screens.branch(branch_id))


@app.route("/branches/search")
def search_page():
    return http.html_response(screens.search((app.current_request.query_params or {}).get("q", "")))


@app.lambda_function(name="query")
def query(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Branch data for the other features (the contract is in functions/common/branches.py)."""
    return actions.branch_query(event)

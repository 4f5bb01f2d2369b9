"""The staff console: one desktop page (the shell) and the exchange of a sign-in's
authorization code for the staff member's tokens. The work itself goes through each
feature's staff JSON (/booking/staff, /loans/staff, /audit/staff), called by the page with
the token as `Authorization: Bearer`."""
from __future__ import annotations

from functions.common import http
from functions.common.http import Field
from functions.console import actions, screens

app = http.FeatureApp(app_name="console")
TOKEN_REQUEST = {"code": Field(2048), "code_verifier": Field(128)}


@app.route("/console", methods=["GET"])
def shell():
    return http.html_response(screens.shell())


@app.route("/console/api/token", methods=["POST"], content_types=["application/json"])
def token():
    body = http.parse(app.current_request, TOKEN_REQUEST)
    return http.json_response(actions.exchange(body.get("code", ""), body.get("code_verifier", "")),
                              headers={"Cache-Control": "no-store"})

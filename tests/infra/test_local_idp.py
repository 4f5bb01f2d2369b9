"""The local identity provider's front end (infra/local/idp.py) and the console's code
exchange against it (functions/console): the authorization code is single-use and bound to
its client, redirect URI and PKCE challenge, as Cognito and the banks' IdPs bind it."""
from __future__ import annotations

import base64
import hashlib
import json
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from chalice.test import Client
from werkzeug.serving import make_server

from infra.local import idp


@pytest.fixture
def front_end(aws, setting):
    server = make_server("127.0.0.1", 0, idp.FrontEnd(), threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    setting("STAFF_OIDC_AUTHORIZE_URL", f"{url}/authorize")
    setting("STAFF_OIDC_TOKEN_URL", f"{url}/token")
    idp.load()
    yield url
    server.shutdown()
    server.server_close()


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def code_for(front_end: str, username: str, verifier: str, redirect_uri: str | None = None) -> str:
    from functions.common import urls

    _, client_id = idp.pool()
    answer = requests.get(f"{front_end}/authorize", allow_redirects=False, timeout=10, params={
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri or urls.absolute("/console"),
        "state": "s1", "code_challenge": challenge(verifier), "code_challenge_method": "S256",
        "username": username})
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["s1"]
    return query["code"][0]


def exchange(code: str, verifier: str):
    from functions.console.app import app

    with Client(app) as client:
        return client.http.post("/console/api/token", headers={"Content-Type": "application/json"},
                                body=json.dumps({"code": code, "code_verifier": verifier}))


def test_the_authorize_page_lists_the_demo_staff_and_wants_pkce(front_end):
    _, client_id = idp.pool()
    page = requests.get(f"{front_end}/authorize", timeout=10, params={
        "response_type": "code", "client_id": client_id, "redirect_uri": "http://x/console",
        "code_challenge": "c", "code_challenge_method": "S256"})
    assert page.status_code == 200 and all(m.username in page.text for m in idp.DEMO_STAFF)
    for missing in ("code_challenge", "client_id"):
        params = {"response_type": "code", "client_id": client_id, "redirect_uri": "http://x/console",
                  "code_challenge": "c", "code_challenge_method": "S256"}
        params[missing] = "" if missing == "code_challenge" else "another-client"
        assert requests.get(f"{front_end}/authorize", params=params, timeout=10).status_code == 400


def test_a_code_redeemed_with_its_verifier_signs_the_member_of_staff_in(front_end):
    answer = exchange(code_for(front_end, "cm.hs02", "v" * 43), "v" * 43)
    assert answer.status_code == 200
    body = json.loads(answer.body)
    assert body["staff"] == {"name": "李伟（鼓楼）", "roles": ["customer_manager"], "branch": "HS02"}
    assert answer.headers["Cache-Control"] == "no-store"


def test_a_code_is_single_use_and_bound_to_its_verifier_and_redirect_uri(front_end):
    code = code_for(front_end, "reviewer.a", "v" * 43)
    wrong = exchange(code, "w" * 43)
    assert (wrong.status_code, json.loads(wrong.body)["code"]) == (401, "sign_in_failed")
    assert exchange(code, "v" * 43).status_code == 401  # spent by the failed try
    elsewhere = code_for(front_end, "reviewer.a", "v" * 43, redirect_uri="https://evil.example.com/console")
    assert exchange(elsewhere, "v" * 43).status_code == 401
    missing = exchange("", "")
    assert [f["field"] for f in json.loads(missing.body)["fields"]] == ["code", "code_verifier"]

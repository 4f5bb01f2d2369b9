"""GET /oauth/callback: WeChat's OAuth2 code becomes the session cookie the H5 pages read."""
from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from chalice.test import Client

from functions.common import config, session


def _client():
    from functions.webhook import app

    return Client(app.app)


def _callback(client, **query):
    return client.http.get("/oauth/callback?" + urlencode(query))


def test_authorize_round_trip_sets_a_session_cookie(fake_wechat_api):
    login = session.login_url("/booking/new?branch=b1")
    assert login.startswith(config.settings().wechat_open_base)
    # WeChat's authorize page, as the user's browser follows it
    res = requests.get(login.split("#")[0], cookies={"sim_openid": "o_oauth_customer"}, allow_redirects=False,
                       timeout=5)
    assert res.status_code == 302
    back = urlsplit(res.headers["Location"])
    assert back.path == "/oauth/callback"
    query = {k: v[0] for k, v in parse_qs(back.query).items()}
    with _client() as client:
        res = _callback(client, **query)
    assert res.status_code == 302
    assert res.headers["Location"] == "/booking/new?branch=b1"
    cookie = SimpleCookie(res.headers["Set-Cookie"])
    assert "httponly" in res.headers["Set-Cookie"].lower()
    header = f"{session.COOKIE}={cookie[session.COOKIE].value}"
    assert session.openid_from_headers({"cookie": header}) == "o_oauth_customer"


def test_code_is_single_use(fake_wechat_api):
    code = fake_wechat_api.code_for("o_once")
    state = session.state_for("/notify/bind")
    with _client() as client:
        assert _callback(client, code=code, state=state).status_code == 302
        again = _callback(client, code=code, state=state)
    assert again.status_code == 400
    assert "set-cookie" not in {k.lower() for k in again.headers}
    assert "text/html" in again.headers["Content-Type"]


def test_tampered_or_missing_state_is_a_400_page(fake_wechat_api):
    good = session.state_for("/booking/new")
    forged = session.state_for("/booking/new").split(".")[0] + ".AAAAAAAAAAAAAAAA"
    offsite = session.state_for("//evil.example/")
    with _client() as client:
        for query in ({"code": fake_wechat_api.code_for("o1"), "state": forged},
                      {"code": fake_wechat_api.code_for("o1"), "state": offsite},
                      {"code": fake_wechat_api.code_for("o1")},
                      {"state": good}):
            res = _callback(client, **query)
            assert res.status_code == 400, query
            assert "text/html" in res.headers["Content-Type"]
            assert "Location" not in res.headers
    # no code was spent on a refused state
    assert fake_wechat_api.calls.get("sns/oauth2/access_token", 0) == 0


def test_wechat_outage_is_a_503_page(fake_wechat_api):
    fake_wechat_api.inject("access_token", -1)
    with _client() as client:
        res = _callback(client, code=fake_wechat_api.code_for("o1"), state=session.state_for("/loans/apply"))
    assert res.status_code == 503
    assert "text/html" in res.headers["Content-Type"]

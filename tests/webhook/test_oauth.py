"""GET /oauth/callback and POST /oauth/logout: WeChat's OAuth2 code becomes a server-side
session, for the browser that started the login only; logout ends it."""
from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from chalice.test import Client

from functions.common import config, session


def _client():
    from functions.webhook import app

    return Client(app.app)


def _nonce(login: session.Login) -> str:
    return SimpleCookie(login.cookie)[session.LOGIN_COOKIE].value


def _authorize(login: session.Login, openid: str) -> dict[str, str]:
    """WeChat's authorize step, as the user's browser follows it: the callback's query."""
    res = requests.get(login.url.split("#")[0], cookies={"sim_openid": openid}, allow_redirects=False, timeout=5)
    assert res.status_code == 302, res.text
    back = urlsplit(res.headers["Location"])
    assert back.path == "/oauth/callback"
    return {k: v[0] for k, v in parse_qs(back.query).items()}


def _callback(client, query: dict, nonce: str | None = None):
    headers = {"Cookie": f"{session.LOGIN_COOKIE}={nonce}"} if nonce else {}
    return client.http.get("/oauth/callback?" + urlencode(query), headers=headers)


def _set_cookies(res) -> list[str]:
    value = res.headers.get("Set-Cookie") or []
    return value if isinstance(value, list) else [value]


def _session_of(res) -> session.Session | None:
    for header in _set_cookies(res):
        jar = SimpleCookie(header)
        if session.COOKIE in jar and jar[session.COOKIE].value:
            return session.find(jar[session.COOKIE].value)
    return None


def test_authorize_round_trip_starts_a_session_for_the_browser_that_began(fake_wechat_api):
    login = session.begin_login("/booking/new?branch=b1")
    assert login.url.startswith(config.settings().wechat_open_base)
    query = _authorize(login, "o_oauth_customer")
    with _client() as client:
        res = _callback(client, query, _nonce(login))
    assert res.status_code == 302
    assert res.headers["Location"] == "/booking/new?branch=b1"
    started = _session_of(res)
    assert started is not None and started.openid == "o_oauth_customer"
    cookies = {SimpleCookie(h).popitem()[0]: h.lower() for h in _set_cookies(res)}
    assert "httponly" in cookies[session.COOKIE] and "samesite=lax" in cookies[session.COOKIE]
    assert "max-age=0" in cookies[session.LOGIN_COOKIE]  # the nonce is spent


def test_the_state_is_what_wechat_accepts_whatever_the_return_path(fake_wechat_api):
    """[a-zA-Z0-9], at most 128 bytes (WeChat's rule; the fake refuses anything else), even for
    a long path with a query; the path rides in the redirect URI."""
    long_path = "/loans/apply?" + urlencode({"product": "consumer", "note": "装修" * 100})
    too_long = "/loans/apply?" + urlencode({"note": "装修" * 200})  # comes back without its query
    for path, back in (("/notify/bind", "/notify/bind"), (long_path, long_path), (too_long, "/loans/apply")):
        login = session.begin_login(path)
        query = _authorize(login, "o_long")
        assert len(query["state"]) <= 128 and query["state"].isalnum() and query["state"].isascii()
        with _client() as client:
            res = _callback(client, query, _nonce(login))
        assert res.status_code == 302 and res.headers["Location"] == back


def test_a_callback_without_its_browsers_nonce_is_refused_with_a_fresh_login(fake_wechat_api):
    """Login CSRF: the attacker's callback link opened in another browser, with no login
    cookie, or with that browser's own login in progress. No session, and the attacker's
    code is not spent on it."""
    attacker = session.begin_login("/notify/bind")
    query = _authorize(attacker, "o_attacker")
    victims_own = session.begin_login("/notify/bind")
    with _client() as client:
        for nonce in (None, _nonce(victims_own), "x" * 32):
            res = _callback(client, query, nonce)
            assert res.status_code == 403, nonce
            assert "text/html" in res.headers["Content-Type"]
            assert _session_of(res) is None and session.COOKIE not in str(_set_cookies(res))
            page = res.body.decode()
            assert 'data-code="login_not_started_here"' in page and "重新登录" in page
            assert 'href="/notify/bind" data-action' in page
    assert fake_wechat_api.calls.get("sns/oauth2/access_token", 0) == 0
    # the attacker's own browser could still have used it: nothing was spent
    with _client() as client:
        assert _session_of(_callback(client, query, _nonce(attacker))).openid == "o_attacker"


def test_the_return_path_is_bound_to_the_state(fake_wechat_api):
    login = session.begin_login("/booking/mine")
    query = _authorize(login, "o_path")
    with _client() as client:
        swapped = _callback(client, {**query, session.RETURN_PARAM: "/loans/mine"}, _nonce(login))
        assert swapped.status_code == 403 and _session_of(swapped) is None
        for offsite in ("//evil.example/", "/\\evil.example", "https://evil.example/", "", "/x\r\nSet-Cookie: a=b"):
            res = _callback(client, {**query, session.RETURN_PARAM: offsite}, _nonce(login))
            assert res.status_code == 400, offsite
            assert "Location" not in res.headers
        missing = _callback(client, {k: v for k, v in query.items() if k != "code"}, _nonce(login))
        assert missing.status_code == 400
    assert fake_wechat_api.calls.get("sns/oauth2/access_token", 0) == 0


def test_code_is_single_use(fake_wechat_api):
    login = session.begin_login("/notify/bind")
    query = _authorize(login, "o_once")
    with _client() as client:
        assert _callback(client, query, _nonce(login)).status_code == 302
        again = _callback(client, query, _nonce(login))
    assert again.status_code == 400
    assert _session_of(again) is None
    assert "text/html" in again.headers["Content-Type"]


def test_wechat_outage_is_a_503_page(fake_wechat_api):
    fake_wechat_api.inject("access_token", -1)
    login = session.begin_login("/loans/apply")
    with _client() as client:
        res = _callback(client, _authorize(login, "o1"), _nonce(login))
    assert res.status_code == 503
    assert "text/html" in res.headers["Content-Type"]


@pytest.mark.parametrize(("base", "path"), [("http://127.0.0.1:8000", "/oauth/callback"),
                                            ("https://bank.example/dev", "/dev/oauth/callback"),
                                            ("https://bank.example/wx/", "/wx/oauth/callback")])
def test_the_login_cookie_goes_to_the_callback_only_wherever_it_is(aws, monkeypatch, base, path):
    monkeypatch.setenv("PUBLIC_BASE_URL", base)
    config.reset()
    login = session.begin_login("/booking")
    morsel = SimpleCookie(login.cookie)[session.LOGIN_COOKIE]
    assert morsel["path"] == path and morsel["httponly"] and morsel["max-age"] == str(session.LOGIN_TTL_S)
    redirect_uri = parse_qs(urlsplit(login.url).query)["redirect_uri"][0]
    assert redirect_uri == base.rstrip("/") + "/oauth/callback?to=%2Fbooking"


def test_cookies_are_secure_in_aws(aws, monkeypatch):
    monkeypatch.setenv("STAGE", "prod")
    config.reset()
    assert "; Secure" in session.begin_login("/booking").cookie
    assert "; Secure" in session.set_cookie(session.start("o_secure"))


# --- logout ---------------------------------------------------------------------------

def _signed_in(openid: str) -> tuple[session.Session, dict[str, str]]:
    s = session.start(openid)
    return s, {"Cookie": f"{session.COOKIE}={s.cookie_value}", "Content-Type": "application/x-www-form-urlencoded"}


def test_logout_ends_the_session_on_the_server(aws):
    s, headers = _signed_in("o_logout")
    other, _ = _signed_in("o_logout")  # the same customer on another device
    with _client() as client:
        res = client.http.post("/oauth/logout", headers=headers, body=f"csrf_token={s.csrf_token}".encode())
    assert res.status_code == 200 and 'data-notice="signed-out"' in res.body.decode()
    assert "data-logout" not in res.body.decode()  # no menu of a session that is gone
    assert SimpleCookie(_set_cookies(res)[0])[session.COOKIE]["max-age"] == "0"
    assert session.find(s.cookie_value) is None
    assert session.find(other.cookie_value) is not None


def test_logout_wants_the_sessions_csrf_token(aws):
    s, headers = _signed_in("o_logout_csrf")
    other, _ = _signed_in("o_someone_else")
    with _client() as client:
        for body in (b"", f"csrf_token={other.csrf_token}".encode(), b"csrf_token=" + b"A" * 43):
            res = client.http.post("/oauth/logout", headers=headers, body=body)
            assert res.status_code == 403, body
    assert session.find(s.cookie_value) is not None


def test_logout_without_a_session_just_clears_the_cookie(aws):
    with _client() as client:
        res = client.http.post("/oauth/logout", headers={"Content-Type": "application/x-www-form-urlencoded",
                                                         "Cookie": f"{session.COOKIE}=gone.{'A' * 43}"})
    assert res.status_code == 200
    assert SimpleCookie(_set_cookies(res)[0])[session.COOKIE]["max-age"] == "0"

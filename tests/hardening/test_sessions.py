"""Sessions, CSRF and the staff token on every app: tampered, expired, ended and cross-openid
cookies are strangers; a session ended by logout, by unfollowing or by unbinding the last
card is refused at its next request; every state-changing browser route refuses a request
without its own session's CSRF token; every staff route wants a staff token; and a login cannot be
forced on another browser (login CSRF), replayed over HTTP with two cookie jars through the
fake WeChat's authorize step."""
from __future__ import annotations

import json
import re
from urllib.parse import urljoin

import pytest
import requests
from chalice.test import Client

from functions.common import session
from tests.e2e.conftest import local_stack  # noqa: F401 - the stack fixture, reused
from tests.hardening import apps
from tests.hardening.conftest import changes, customer, record, snapshot
from tests.sessions import cookie, signed_in

pytestmark = pytest.mark.slow

VICTIM = "o_victim_0000000000000001"
ATTACKER = "o_attacker_000000000000002"


def _body(content_type: str) -> str:
    return "note=x&reason=x" if content_type.startswith("application/x-www-form") else json.dumps({"reason": "x"})


def _tampered() -> dict[str, str]:
    """Cookie values that must each be a stranger's."""
    good, other = signed_in(VICTIM), signed_in(ATTACKER)
    key, secret = good.cookie_value.split(".")
    ended = signed_in(VICTIM)
    session.end(ended)
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    return {
        "another customer's secret": f"{key}.{other.secret}",
        "another customer's key": f"{other.customer_key}.{secret}",
        "secret changed by one character": f"{key}.{flipped}",
        "secret truncated": f"{key}.{secret[:20]}",
        "secret empty": f"{key}.",
        "no secret part": key,
        "extra part": f"{good.cookie_value}.x",
        "expired": session.start(VICTIM, ttl_s=-1).cookie_value,
        "ended (logged out)": ended.cookie_value,
        "a secret of the right shape": f"{key}.{'A' * 43}",
        "garbage": "not-a-session",
        "empty": "",
        "8 KB": "a" * 8192,
        "quoted": f'"{good.cookie_value}"x',
        "unicode": "张三.签名",
    }


def _clients():
    return {feature: Client(apps.app(feature)) for feature in apps.FEATURES}


def _browser_routes() -> list[apps.Route]:
    return [r for r in apps.routes() if r.method in apps.STATE_CHANGING
            and (r.feature, r.path, r.method) not in apps.NOT_A_BROWSER_ROUTE and not r.staff]


def test_every_state_changing_browser_route_requires_its_sessions_csrf_token(aws):
    routes = _browser_routes()
    assert len(routes) >= 10  # every feature's forms and JSON calls are here
    assert ("webhook", "/oauth/logout", "POST") in {(r.feature, r.path, r.method) for r in routes}
    clients = _clients()
    earlier = signed_in(VICTIM)  # the same customer's earlier session, since logged out
    session.end(earlier)
    variants = {
        "no token": lambda form: customer(VICTIM, form=form, csrf=False),
        "another customer's token": lambda form: {**customer(VICTIM), "X-CSRF-Token": signed_in(ATTACKER).csrf_token},
        "the same customer's other session's token": lambda form: {**customer(VICTIM),
                                                                    "X-CSRF-Token": signed_in(VICTIM).csrf_token},
        "the token of an ended session": lambda form: {**customer(VICTIM), "X-CSRF-Token": earlier.csrf_token},
        "a token of the right shape": lambda form: {**customer(VICTIM), "X-CSRF-Token": "A" * 43},
    }
    requests_ = [(route, content_type, label, make(content_type.startswith("application/x-www-form")))
                 for route in routes for content_type in route.content_types for label, make in variants.items()]
    before = snapshot()  # (the sessions above are made; nothing below may change anything)
    failures = []
    for route, content_type, label, headers in requests_:
        headers = {**headers, "Content-Type": content_type}
        res = clients[route.feature].http.request(route.method, route.concrete(), headers=headers,
                                                  body=_body(content_type).encode())
        if res.status_code != 403 or (route.api and json.loads(res.body)["code"] != "csrf_failed"):
            failures.append(f"{route.method} {route.path} [{content_type}] {label}: {res.status_code}")
    assert not failures, "\n".join(failures)
    assert changes(before, snapshot()) == {}
    # the control: with its own session's token, the same request gets past the CSRF check
    for route in routes:
        for content_type in route.content_types:
            headers = {**customer(VICTIM), "Content-Type": content_type}
            res = clients[route.feature].http.request(route.method, route.concrete(), headers=headers,
                                                      body=_body(content_type).encode())
            assert res.status_code != 403, f"{route.method} {route.path} [{content_type}] refused even with the token"
    record("csrf", "CSRF: every state-changing browser route without its session's token", len(requests_),
           f"{len(routes)} routes × content types × {len(variants)} variants (none, another customer's, the same "
           "customer's other session's, an ended session's, a forged one): all 403; nothing stored")


def test_a_form_field_token_is_as_good_as_the_header(aws):
    """Pages post the token in a hidden field; a wrong field token is refused like a header."""
    form_routes = [r for r in _browser_routes() if r.method == "POST" and not r.api]
    assert form_routes
    clients = _clients()
    for route in form_routes:
        headers = customer(VICTIM, form=True, csrf=False)
        res = clients[route.feature].http.post(route.concrete(), headers=headers,
                                               body=f"csrf_token={signed_in(ATTACKER).csrf_token}".encode())
        assert res.status_code == 403, (route.path, res.status_code)


def _session_routes(clients) -> list[apps.Route]:
    """The customer GET routes that want a session at all."""
    candidates = [r for r in apps.routes() if r.method == "GET" and "{" not in r.path and not r.staff
                  and r.feature != "webhook" and not r.path.endswith("/health")]
    protected = [r for r in candidates if clients[r.feature].http.get(r.path).status_code in (302, 401)]
    assert any(r.api for r in protected) and any(not r.api for r in protected)
    return protected


def _refused(res, route: apps.Route) -> bool:
    """A JSON route's 401, or a page's redirect to WeChat's login."""
    if route.api:
        return res.status_code == 401 and json.loads(res.body)["code"] == "login_required"
    return res.status_code == 302 and "oauth2/authorize" in res.headers["Location"]


def test_tampered_expired_and_ended_sessions_are_strangers(aws):
    clients = _clients()
    protected = _session_routes(clients)
    tampered = _tampered()
    tried = 0
    for label, value in tampered.items():
        for route in protected:
            res = clients[route.feature].http.get(route.path, headers={"Cookie": f"{session.COOKIE}={value}"})
            tried += 1
            assert _refused(res, route), (label, route.path, res.status_code)
    # two cookies: a forged one cannot ride along a valid one to change identity
    forged = tampered["another customer's secret"]
    both = f"{session.COOKIE}={forged}; {session.COOKIE}={signed_in(VICTIM).cookie_value}"
    res = clients["booking"].http.get("/booking/api/bookings", headers={"Cookie": both})
    assert res.status_code in (200, 401)
    record("sessions", "Sessions: tampered, expired, ended and malformed cookies", tried,
           f"{len(protected)} session routes × {len(tampered)} cookies: JSON 401, pages 302 to login")


def _bind(openid: str, n: int) -> str:
    """A card bound to `openid` (as a confirmed OTP binds it); returns the binding's id."""
    from functions.notify import actions, corebank, store

    corebank.add_customer(f"CS{n:04d}", "测试客户", f"1390000{n:04d}")
    card = corebank.add_card(f"CS{n:04d}", f"62220200000000{n:04d}0")
    store.bind(openid, f"CS{n:04d}", card.card_hash, card.last4)
    return next(b["id"] for b in actions.bindings(openid) if b["last4"] == card.last4)


def test_a_revoked_session_is_refused_on_its_next_request(aws, webhook, invocations):
    """Logout ends one session; unfollowing and unbinding the last card end all of the
    customer's; each is refused by every session route at its next request. A session
    lives until then (the control), and another customer's is untouched."""
    from tests.webhook import wechat_side as wx

    clients = _clients()
    protected = _session_routes(clients)

    def live(signed: session.Session) -> bool:
        """True when no session route refuses it; False when every one does."""
        refused = [_refused(clients[r.feature].http.get(r.path, headers=cookie(signed)), r) for r in protected]
        assert len(set(refused)) == 1, refused
        return not refused[0]

    def logout(signed: session.Session) -> None:
        headers = {**cookie(signed), "Content-Type": "application/x-www-form-urlencoded"}
        res = webhook.http.post("/oauth/logout", headers=headers, body=f"csrf_token={signed.csrf_token}".encode())
        assert res.status_code == 200

    def unfollow(signed: session.Session) -> None:
        path, body = wx.request(wx.event("unsubscribe", signed.openid), "safe")
        assert webhook.http.post(path, headers={"Content-Type": "text/xml"}, body=body).status_code == 200
        assert "notifyIntent" in invocations.keys()

    def unbind(signed: session.Session, binding_id: str) -> None:
        res = clients["notify"].http.delete(f"/notify/api/bindings/{binding_id}",
                                            headers={**cookie(signed), "X-CSRF-Token": signed.csrf_token})
        assert res.status_code == 200

    bystander = signed_in(ATTACKER)
    tried = 0
    # logout: this session only
    here, elsewhere = signed_in("o_rv_logout"), signed_in("o_rv_logout")
    assert live(here) and live(elsewhere)
    logout(here)
    assert not live(here) and live(elsewhere)
    tried += 1
    # unfollowing: every session of the customer
    phone, desktop = signed_in("o_rv_unfollow"), signed_in("o_rv_unfollow")
    assert live(phone) and live(desktop)
    unfollow(phone)
    assert not live(phone) and not live(desktop)
    tried += 1
    # unbinding: a card that is not the last keeps the sessions; the last ends them all
    first, last = _bind("o_rv_unbind", 1), _bind("o_rv_unbind", 2)
    phone, desktop = signed_in("o_rv_unbind"), signed_in("o_rv_unbind")
    unbind(phone, first)
    assert live(phone) and live(desktop)
    unbind(phone, last)
    assert not live(phone) and not live(desktop)
    tried += 1
    assert live(bystander)
    record("sessions_revoked", "Sessions: ended by logout, unfollowing, unbinding the last card",
           tried * len(protected),
           f"{len(protected)} session routes after each of the 3 ends: JSON 401, pages 302 to login; "
           "logout ends one session, the others all of the customer's; other customers' untouched")


@pytest.fixture
def booked(aws, frozen_clock):
    """The victim's booking and loan application, made through the real APIs."""
    from functions.booking import store
    from functions.booking.service import Manager
    from infra.local.demo import branch_lookup
    from tests.booking.conftest import MONDAY_8AM, branch
    from tests.booking.conftest import form as booking_form
    from tests.loan_apply.conftest import form as loan_form

    frozen_clock(MONDAY_8AM)
    branch_lookup.load(branches=[branch("T01")])
    store.put_manager("T01", Manager("m1", "王芳", frozenset({"wealth", "account"})))
    with Client(apps.app("booking")) as c:
        res = c.http.post("/booking/api/bookings", headers=customer(VICTIM), body=json.dumps(booking_form()))
        assert res.status_code == 201, res.body
        booking_id = json.loads(res.body)["booking"]["id"]
    with Client(apps.app("loan_apply")) as c:
        res = c.http.post("/loans/api/applications", headers={**customer(VICTIM), "Idempotency-Key": "victim-key-1"},
                          body=json.dumps(loan_form()))
        assert res.status_code == 201, res.body
        application_id = json.loads(res.body)["application"]["application_id"]
    return {"booking": booking_id, "application": application_id}


def test_another_customers_records_are_not_found(booked):
    """The attacker's valid session and CSRF token reach nothing of the victim's."""
    clients = _clients()
    attempts = [
        ("booking", "GET", f"/booking/api/bookings/{booked['booking']}", None),
        ("booking", "GET", f"/booking/b/{booked['booking']}", None),
        ("booking", "POST", f"/booking/api/bookings/{booked['booking']}/cancel", "{}"),
        ("booking", "POST", f"/booking/api/bookings/{booked['booking']}/reschedule",
         json.dumps({"slot_start": "2026-12-01T02:00:00Z"})),
        ("loan_apply", "GET", f"/loans/api/applications/{booked['application']}", None),
        ("loan_apply", "GET", f"/loans/mine/{booked['application']}", None),
        ("loan_apply", "POST", f"/loans/api/applications/{booked['application']}/withdraw", "{}"),
    ]
    attacker = customer(ATTACKER)
    before = snapshot()
    for feature, method, path, body in attempts:
        res = clients[feature].http.request(method, path, headers=attacker, body=(body or "").encode())
        assert res.status_code == 404, (path, res.status_code, res.body[:200])
        assert VICTIM.encode() not in res.body
    assert changes(before, snapshot()) == {}
    record("cross_openid", "Sessions: another customer's records with a valid session", len(attempts),
           "all 404 (indistinguishable from none); nothing changed")


def test_staff_routes_want_a_staff_token(aws):
    staff_routes = [r for r in apps.routes() if r.staff]
    assert staff_routes
    clients = _clients()
    session = customer(VICTIM)
    tried = 0
    for route in staff_routes:
        for headers, expected in (({"Content-Type": "application/json"}, 401),
                                  ({"Authorization": "Bearer "}, 401),
                                  ({"Authorization": "Basic c3RhZmY6c3RhZmY="}, 401),
                                  ({"Authorization": "Bearer " + session["Cookie"].split("=", 1)[1]}, 401),
                                  (session, 401)):
            body = b"{}" if route.method != "GET" else b""
            res = clients[route.feature].http.request(route.method, route.concrete(), headers=headers, body=body)
            tried += 1
            assert res.status_code == expected, (route.method, route.path, headers, res.status_code)
    record("staff_key", "Staff APIs without a staff token, or with a customer's session as one", tried,
           f"{len(staff_routes)} routes: all 401")


# --- login CSRF, over HTTP ------------------------------------------------------------------

def _browser(openid: str) -> requests.Session:
    """A browser (its own cookie jar) in a WeChat signed in as `openid`: the fake WeChat's
    authorize step names whoever its `sim_openid` cookie says, as WeChat names its user."""
    browser = requests.Session()
    browser.cookies.set("sim_openid", openid)
    return browser


def _to_the_callback(browser: requests.Session, page: str) -> str:
    """Open a page without a session and pass WeChat's authorize step; stop at the callback
    link WeChat sends the browser to, and return it."""
    res = browser.get(page, allow_redirects=False, timeout=20)
    assert res.status_code == 302, res.text[:300]
    authorize = urljoin(page, res.headers["Location"])
    res = browser.get(authorize, allow_redirects=False, timeout=20)
    assert res.status_code == 302, res.text[:300]
    link = urljoin(authorize, res.headers["Location"])
    assert "/oauth/callback?" in link
    return link


@pytest.mark.e2e
def test_a_login_cannot_be_forced_on_another_browser(local_stack):  # noqa: F811
    """The attacker starts a login, passes WeChat's authorize step as himself and sends the
    callback link to the victim. In the victim's browser (no login, or a login of the
    victim's own under way) it signs in no one, and its page starts the victim's own login;
    the link still works once in the browser that started it."""
    url = local_stack.url
    attacker, victim = _browser("o_attacker_e2e_000000000001"), _browser("o_victim_e2e_0000000000001")
    link = _to_the_callback(attacker, f"{url}/notify/bind")
    tried = 0
    for situation in ("no login under way", "the victim's own login under way"):
        if situation != "no login under way":
            _to_the_callback(victim, f"{url}/loans/mine")
        res = victim.get(link, allow_redirects=False, timeout=20)
        tried += 1
        assert res.status_code == 403, (situation, res.status_code)
        assert session.COOKIE not in victim.cookies, situation
        restart = re.search(r'href="([^"]+)" data-action', res.text).group(1)
        assert restart == "/notify/bind"
    # the page's link: the victim's own login, which signs in the victim
    res = victim.get(urljoin(url, restart), timeout=20)
    assert res.status_code == 200 and res.url.split("#")[0] == f"{url}/notify/bind"
    assert session.find(victim.cookies[session.COOKIE]).openid == "o_victim_e2e_0000000000001"
    # the attacker's code was never spent: the link signs in its own browser, once
    res = attacker.get(link, allow_redirects=False, timeout=20)
    assert res.status_code == 302 and res.headers["Location"] == "/notify/bind"
    assert session.find(attacker.cookies[session.COOKIE]).openid == "o_attacker_e2e_000000000001"
    assert attacker.get(link, allow_redirects=False, timeout=20).status_code == 403  # the nonce is spent
    record("sessions_login_csrf", "Sessions: a callback link opened in another browser (login CSRF, over HTTP)",
           tried, "403 and a page that starts the browser's own login; no session; the code unspent")

"""Sessions, CSRF and the staff key on every app: tampered, expired and cross-openid cookies
are strangers; every state-changing browser route refuses a request without the session's
CSRF token; every staff route wants its key."""
from __future__ import annotations

import json

import pytest
from chalice.test import Client

from functions.common import session
from tests.hardening import apps
from tests.hardening.conftest import changes, customer, record, snapshot, staff

VICTIM = "o_victim_0000000000000001"
ATTACKER = "o_attacker_000000000000002"


def _body(content_type: str) -> str:
    return "note=x&reason=x" if content_type.startswith("application/x-www-form") else json.dumps({"reason": "x"})


def _tampered() -> dict[str, str]:
    good = session.issue(VICTIM)
    openid, expires, sig = good.split("|")
    other = session.issue(ATTACKER).split("|")[2]
    return {
        "openid swapped": f"{ATTACKER}|{expires}|{sig}",
        "expiry extended": f"{openid}|{int(expires) + 86400 * 365}|{sig}",
        "signature truncated": f"{openid}|{expires}|{sig[:20]}",
        "signature of another session": f"{openid}|{expires}|{other}",
        "signature empty": f"{openid}|{expires}|",
        "no signature part": f"{openid}|{expires}",
        "extra part": f"{good}|x",
        "expired": session.issue(VICTIM, ttl_s=-1),
        "expiry not a number": f"{openid}|soon|{sig}",
        "garbage": "not-a-session",
        "empty": "",
        "8 KB": "a" * 8192,
        "quoted": f'"{good}"x',
        "unicode": "张三|1|签名",
    }


def _clients():
    return {feature: Client(apps.app(feature)) for feature in apps.FEATURES}


def test_every_state_changing_browser_route_requires_the_csrf_token(aws):
    routes = [r for r in apps.routes() if r.method in apps.STATE_CHANGING
              and (r.feature, r.path, r.method) not in apps.NOT_A_BROWSER_ROUTE and not r.staff]
    assert len(routes) >= 10  # every feature's forms and JSON calls are here
    clients = _clients()
    before = snapshot()
    failures, tried = [], 0
    for route in routes:
        for content_type in route.content_types:
            variants = {
                "no token": customer(VICTIM, form=content_type.startswith("application/x-www-form"), csrf=False),
                "another customer's token": {**customer(VICTIM), "X-CSRF-Token": session.csrf_token(ATTACKER)},
                "a token of the right shape": {**customer(VICTIM), "X-CSRF-Token": "A" * 43},
            }
            for label, headers in variants.items():
                headers = {**headers, "Content-Type": content_type}
                res = clients[route.feature].http.request(route.method, route.concrete(), headers=headers,
                                                          body=_body(content_type).encode())
                tried += 1
                if res.status_code != 403 or (route.api and json.loads(res.body)["code"] != "csrf_failed"):
                    failures.append(f"{route.method} {route.path} [{content_type}] {label}: {res.status_code}")
            # the control: with the token, the same request gets past the CSRF check
            headers = {**customer(VICTIM), "Content-Type": content_type}
            res = clients[route.feature].http.request(route.method, route.concrete(), headers=headers,
                                                      body=_body(content_type).encode())
            if res.status_code == 403:
                failures.append(f"{route.method} {route.path} [{content_type}] refused even with the token")
    assert not failures, "\n".join(failures)
    assert changes(before, snapshot()) == {}
    record("csrf", "CSRF: every state-changing browser route without a valid token", tried,
           f"{len(routes)} routes × content types × 3 variants: all 403; nothing stored")


def test_a_form_field_token_is_as_good_as_the_header(aws):
    """Pages post the token in a hidden field; a wrong field token is refused like a header."""
    form_routes = [r for r in apps.routes() if r.method == "POST" and not r.staff and not r.api
                   and (r.feature, r.path, r.method) not in apps.NOT_A_BROWSER_ROUTE]
    assert form_routes
    clients = _clients()
    for route in form_routes:
        headers = customer(VICTIM, form=True, csrf=False)
        res = clients[route.feature].http.post(route.concrete(), headers=headers,
                                               body=f"csrf_token={session.csrf_token(ATTACKER)}".encode())
        assert res.status_code == 403, (route.path, res.status_code)


def test_tampered_and_expired_sessions_are_strangers(aws):
    customer_routes = [r for r in apps.routes() if r.method == "GET" and "{" not in r.path and not r.staff
                       and r.feature != "webhook" and not r.path.endswith("/health")]
    protected = []
    clients = _clients()
    for route in customer_routes:  # the routes that want a session at all
        res = clients[route.feature].http.get(route.path)
        if res.status_code in (302, 401):
            protected.append(route)
    assert any(r.api for r in protected) and any(not r.api for r in protected)
    tried = 0
    for label, value in _tampered().items():
        for route in protected:
            res = clients[route.feature].http.get(route.path, headers={"Cookie": f"wxsession={value}"})
            tried += 1
            if route.api:
                assert res.status_code == 401, (label, route.path, res.status_code)
            else:  # a page sends the stranger to WeChat's login
                assert res.status_code == 302 and "oauth2/authorize" in res.headers["Location"], (label, route.path)
    # two cookies: a forged one cannot ride along a valid one to change identity
    both = f"wxsession={_tampered()['openid swapped']}; wxsession={session.issue(VICTIM)}"
    res = clients["booking"].http.get("/booking/api/bookings", headers={"Cookie": both})
    assert res.status_code in (200, 401)
    record("sessions", "Sessions: tampered, expired and malformed cookies", tried,
           f"{len(protected)} session routes × {len(_tampered())} cookies: JSON 401, pages 302 to login")


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
    before = snapshot()
    for feature, method, path, body in attempts:
        res = clients[feature].http.request(method, path, headers=customer(ATTACKER),
                                            body=(body or "").encode())
        assert res.status_code == 404, (path, res.status_code, res.body[:200])
        assert VICTIM.encode() not in res.body
    assert changes(before, snapshot()) == {}
    record("cross_openid", "Sessions: another customer's records with a valid session", len(attempts),
           "all 404 (indistinguishable from none); nothing changed")


def test_staff_routes_want_their_key(aws):
    staff_routes = [r for r in apps.routes() if r.staff]
    assert staff_routes
    clients = _clients()
    tried = 0
    for route in staff_routes:
        for headers, expected in (({"Content-Type": "application/json"}, 401),
                                  (staff(""), 401),
                                  (staff("wrong-key"), 403),
                                  (staff("local-staff-key "), 403),
                                  ({**customer(VICTIM), "X-Api-Key": "x"}, 403)):
            body = b"{}" if route.method != "GET" else b""
            res = clients[route.feature].http.request(route.method, route.concrete(), headers=headers, body=body)
            tried += 1
            assert res.status_code == expected, (route.method, route.path, headers.get("X-Api-Key"), res.status_code)
    record("staff_key", "Staff APIs without or with a wrong X-Api-Key", tried,
           f"{len(staff_routes)} routes: no key 401, wrong key 403")

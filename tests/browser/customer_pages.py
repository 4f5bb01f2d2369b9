"""Every page a customer can open, with the session and data each needs: the one list the
browser tests walk (the CSP test, the phone-width test), so a page added to any feature's
routes is opened by all of them."""
from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
import requests

from functions.common import session
from tests.hardening import apps, live

CUSTOMER = "o_demo_customer"  # the demo customer: a bound card, a statement, an application
WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 MicroMessenger/8.0.50(0x1800323c) NetType/WIFI Language/zh_CN")


def _book(url: str, headers: dict[str, str]) -> tuple[str, str, str, str]:
    """A booking of the customer through the JSON API: (booking id, branch id, service, slot)."""
    from datetime import timedelta

    from functions.common import clock

    branches = requests.get(f"{url}/booking/api/branches", headers=headers, timeout=20).json()["branches"]
    for branch in branches:
        for service in ("wealth", "account", "loans", "fx"):
            for days in range(1, 15):
                day = (clock.local().date() + timedelta(days=days)).isoformat()
                query = urlencode({"branch_id": branch["id"], "service": service, "date": day})
                res = requests.get(f"{url}/booking/api/slots?{query}", headers=headers, timeout=20)
                if res.status_code != 200 or not res.json()["slots"]:
                    continue
                slot = res.json()["slots"][0]["start"]
                body = {"branch_id": branch["id"], "service": service, "slot_start": slot, "name": "陈晓明",
                        "mobile": "13957400001", "idempotency_key": "csp-test-booking-1"}
                made = requests.post(f"{url}/booking/api/bookings", json=body, headers=headers, timeout=20)
                assert made.status_code in (200, 201), made.text
                return made.json()["booking"]["id"], branch["id"], service, slot
    raise AssertionError("no bookable slot in the demo data")


@pytest.fixture(scope="module")
def signed_in(stack):
    """The demo customer's session (as /oauth/callback makes it) and what their pages need."""
    signed = session.start(CUSTOMER)
    headers = {"Cookie": f"{session.COOKIE}={signed.cookie_value}", "X-CSRF-Token": signed.csrf_token}
    booking_id, branch_id, service, slot = _book(stack.url, headers)
    stack.drain_queues()  # its confirmation, a template message: 我的消息 shows one
    [application] = requests.get(f"{stack.url}/loans/api/applications", headers=headers, timeout=20).json()["items"]
    params = {"booking_id": booking_id, "application_id": application["application_id"], "branch_id": branch_id,
              "code": "YC7001", "kind": "risk_disclosure",  # a demo product with a net value chart
              "order_id": live.order(CUSTOMER)}
    return signed, params, (branch_id, service, slot)


def customer_pages(params: dict[str, str], booked: tuple[str, str, str]) -> dict[str, int]:
    """Every page route of every feature (from the apps' route tables, so a page added later
    is opened too), with a few query variants that show more of a template; {url: status}."""
    pages: dict[str, int] = {}
    for route in apps.routes():
        if route.method != "GET" or route.api or route.feature == "webhook" or route.path.endswith("/health"):
            continue
        path = route.path
        for name in re.findall(r"\{(\w+)\}", path):
            assert name in params, f"{route.path}: the test does not know a {name} to open it with"
            path = path.replace("{" + name + "}", params[name])
        pages[path] = 404 if path == "/booking/new" else 200  # without a branch: the error page
    branch_id, service, slot = booked
    step = {"branch_id": branch_id, "service": service, "date": slot[:10]}
    pages.update({
        f"/booking/new?{urlencode({'branch_id': branch_id})}": 200,
        f"/booking/new?{urlencode(step)}": 200,
        f"/booking/new?{urlencode({**step, 'slot_start': slot})}": 200,
        f"/booking/b/{params['booking_id']}?confirm=cancel": 200,
        "/branches/search?q=" + "江北": 200,
        "/loans/apply?product=consumer_loan": 200,
        "/products?" + urlencode({"risk": "R2", "term": "medium"}): 200,
        "/booking/b/no-such-booking": 404,  # the error page
        "/oauth/callback?" + urlencode({"to": "/notify/bind", "code": "x", "state": "0" * 32}): 403,  # login again
    })
    return pages


def wechat_context(browser, stack, signed: session.Session, viewport: dict[str, int]):
    """A WeChat-like browser context with the customer's session; WeChat's CDN is out of
    reach here, so its requests are aborted (a CSP block happens before any request)."""
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  user_agent=WECHAT_UA)
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": session.COOKIE, "value": signed.cookie_value, "url": stack.url}])
    context.route(re.compile(r"^https://res2?\.wx\.qq\.com/"), lambda route: route.abort())
    return context

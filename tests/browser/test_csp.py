"""Content-Security-Policy in Chromium: every page of every feature, opened with a session as
WeChat's browser opens it, carries the policy and raises no CSP violation (the
`securitypolicyviolation` events and Chromium's console reports); the policy really blocks
what it should (an injected inline script, a frame on another origin); the simulator, which
frames the pages from the stack's own origin, still shows them; the logout of the page menu
works."""
from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
import requests
from playwright.sync_api import expect

from functions.common import session
from tests.browser.conftest import VIEWPORT
from tests.browser.sim_page import Simulator
from tests.hardening import apps

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

CUSTOMER = "o_demo_customer"  # the demo customer: a bound card, a statement, an application
WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 MicroMessenger/8.0.50(0x1800323c) NetType/WIFI Language/zh_CN")
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.effectiveDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""


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
    [application] = requests.get(f"{stack.url}/loans/api/applications", headers=headers, timeout=20).json()["items"]
    params = {"booking_id": booking_id, "application_id": application["application_id"], "branch_id": branch_id,
              "code": "YC7001", "kind": "risk_disclosure"}  # a demo product with a net value chart
    return signed, params, (branch_id, service, slot)


def _pages(stack, params: dict[str, str], booked: tuple[str, str, str]) -> dict[str, int]:
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
        "/branches/search?q=" + "江北": 200,
        "/loans/apply?product=consumer_loan": 200,
        "/products?" + urlencode({"risk": "R2", "term": "medium"}): 200,
        "/booking/b/no-such-booking": 404,  # the error page
        "/oauth/callback?" + urlencode({"to": "/notify/bind", "code": "x", "state": "0" * 32}): 403,  # login again
    })
    return pages


@pytest.fixture
def wechat(browser, stack, signed_in):
    """A WeChat-like browser with the customer's session; WeChat's CDN is out of reach here,
    so its requests are aborted (a CSP block happens before any request is made)."""
    signed, _, _ = signed_in
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  user_agent=WECHAT_UA)
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": session.COOKIE, "value": signed.cookie_value, "url": stack.url}])
    context.add_init_script(WATCH)
    context.route(re.compile(r"^https://res2?\.wx\.qq\.com/"), lambda route: route.abort())
    yield context
    context.close()


def _open(context, url: str):
    """Open `url` in a new page; returns (page, response, CSP messages of the console)."""
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    response = page.goto(url)
    page.wait_for_load_state("load")
    return page, response, console


def test_every_page_has_the_policy_and_raises_no_violation(stack, wechat, signed_in):
    _, params, booked = signed_in
    pages = _pages(stack, params, booked)
    problems = []
    for path, status in pages.items():
        page, response, console = _open(wechat, stack.url + path)
        policy = response.headers.get("content-security-policy", "")
        violations = page.evaluate("window.__violations") + console
        if response.status != status:
            problems.append(f"{path}: {response.status}, expected {status}")
        if "script-src 'sha256-" not in policy or "'unsafe-inline'" in policy or "frame-ancestors" not in policy:
            problems.append(f"{path}: policy {policy!r}")
        if violations:
            problems.append(f"{path}: {violations}")
        if status == 200:  # the hashed base style applied, and the page menu's logout is there
            if page.locator(".page").evaluate("e => getComputedStyle(e).paddingBottom") != "32px":
                problems.append(f"{path}: the base style did not apply")
            if path.startswith(("/booking", "/loans", "/notify")) and not page.locator("[data-logout]").count():
                problems.append(f"{path}: no logout in the menu")
        page.close()
    assert not problems, "\n".join(problems)
    assert len(pages) >= 18


def test_the_pages_scripts_run_under_the_policy(stack, wechat):
    """The hashed inline scripts do their work: the loan form fills its selects from its JSON
    block and steps through; the branch page asks for the JS-SDK inside WeChat."""
    page, _, _ = _open(wechat, f"{stack.url}/loans/apply?product=consumer_loan")
    expect(page.locator("select[name=term] option")).not_to_have_count(0)
    expect(page.locator("#amount-hint")).to_contain_text("可申请")
    page.locator("input[name=amount]").fill("50000")
    page.locator("select[name=term]").select_option("24")
    page.locator("select[name=purpose]").select_option("renovation")
    page.locator("[data-step='1'] [data-go='2']").click()
    expect(page.locator("[data-step='2']")).to_be_visible()
    assert page.evaluate("window.__violations") == []
    branch = page.context.new_page()
    with branch.expect_request(re.compile(r"^https://res\.wx\.qq\.com/open/js/jweixin")):
        branch.goto(f"{stack.url}/branches/search?q=江北")
        branch.locator("#results a").first.click()
    assert branch.evaluate("window.__violations") == []


def test_the_policy_blocks_an_injected_script_and_reports_it(stack, wechat):
    """The control: what the test listens for is what Chromium reports."""
    page, _, _ = _open(wechat, f"{stack.url}/notify/bills")
    page.evaluate("""() => { const s = document.createElement("script");
                            s.textContent = "window.injected = true"; document.body.appendChild(s); }""")
    page.wait_for_function("window.__violations.length > 0")
    assert page.evaluate("window.injected") is None
    assert page.evaluate("window.__violations")[0].startswith("script-src-elem inline")


def test_another_origin_cannot_frame_a_page(stack, wechat):
    page = wechat.new_page()
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text) as refused:
        page.set_content(f'<iframe src="{stack.url}/notify/bind"></iframe>')  # about:blank's origin
    assert stack.url in refused.value.text


def test_the_simulator_still_frames_the_pages_and_logout_works(page, stack):
    """The local stack lets its own origin frame pages (frame-ancestors 'self'; 'none' in
    AWS): the simulator's phone shows them, logged in through the fake WeChat; the menu's
    logout ends the session, and the next page logs in afresh."""
    sim = Simulator(page, stack)
    openid = sim.follow("安全")
    bind = sim.open_link(sim.send_text("绑卡"))
    expect(bind.locator(".page__title")).to_have_text("绑定银行卡")
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == session.COOKIE)
    assert session.find(cookie).openid == openid
    bind.locator("[data-logout]").click()
    expect(bind.locator("[data-notice=signed-out] .weui-msg__title")).to_have_text("您已安全退出")
    assert session.find(cookie) is None
    sim.close_h5()
    again = sim.open_link(sim.send_text("绑卡"))
    expect(again.locator(".page__title")).to_have_text("绑定银行卡")
    fresh = next(c["value"] for c in page.context.cookies() if c["name"] == session.COOKIE)
    assert fresh != cookie and session.find(fresh).openid == openid

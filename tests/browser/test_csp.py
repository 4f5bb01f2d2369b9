"""Content-Security-Policy in Chromium: every page of every feature, opened with a session as
WeChat's browser opens it, carries the policy and raises no CSP violation (the
`securitypolicyviolation` events and Chromium's console reports); the policy really blocks
what it should (an injected inline script, a frame on another origin); the simulator, which
frames the pages from the stack's own origin, still shows them; the logout of the page menu
works."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from functions.common import session
from tests.browser.conftest import VIEWPORT
from tests.browser.customer_pages import customer_pages, wechat_context
from tests.browser.sim_page import Simulator

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.effectiveDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""


@pytest.fixture
def wechat(browser, stack, signed_in):
    """A WeChat-like browser with the customer's session, watching for CSP violations."""
    context = wechat_context(browser, stack, signed_in[0], VIEWPORT)
    context.add_init_script(WATCH)
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
    pages = customer_pages(params, booked)
    problems = []
    page, console = wechat.new_page(), []  # one tab, as a customer's: the watch is installed at each navigation
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    for path, status in pages.items():
        console.clear()
        response = page.goto(stack.url + path)
        policy = response.headers.get("content-security-policy", "")
        violations = page.evaluate("window.__violations") + console
        if response.status != status:
            problems.append(f"{path}: {response.status}, expected {status}")
        if "script-src 'sha256-" not in policy or "'unsafe-inline'" in policy or "frame-ancestors" not in policy:
            problems.append(f"{path}: policy {policy!r}")
        if violations:
            problems.append(f"{path}: {violations}")
        # the H5 pages' hashed base style applied, and their menu's logout is there (the staff
        # console is a desktop page of its own, with no customer session to end)
        if status == 200 and not path.startswith("/console"):
            if page.locator(".page").evaluate("e => getComputedStyle(e).paddingBottom") != "32px":
                problems.append(f"{path}: the base style did not apply")
            if path.startswith(("/booking", "/loans", "/notify")) and not page.locator("[data-logout]").count():
                problems.append(f"{path}: no logout in the menu")
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

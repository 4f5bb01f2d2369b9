"""The staff console in a real browser: a customer applies for a loan in the simulator, a
reviewer signs in through the identity provider (the local stack's front end on moto's
Cognito: authorization code + PKCE), reveals the applicant's data with a reason and moves
the application under review, is refused the approval on the page and in the API, an
approver signs in and approves, and the customer's status template message arrives."""
from __future__ import annotations

import json
from urllib.request import Request, urlopen

import pytest
from playwright.sync_api import Page, expect

from tests.browser.sim_page import fill_loan_form

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

ID_NUMBER = "330203198502021235"  # checksum valid, born 1985
DESKTOP = {"width": 1280, "height": 900}


def apply_for_a_loan(sim) -> str:
    """A new customer's consumer-loan application, submitted in the simulator; its id."""
    sim.follow("贷款审批")
    form = sim.open_link(sim.send_text("贷款"))
    fill_loan_form(form, ID_NUMBER, phone="13905746666")
    form.locator("input[name=consent]").check()
    form.locator("#submit").click()
    expect(form.locator(".weui-msg__title")).to_have_text("申请已提交")
    sim.close_h5()
    listing = sim.open_link(sim.send_text("我的申请"), "查看全部")
    return listing.locator("[data-application]").first.get_attribute("data-application") or ""


def sign_in(page: Page, stack, username: str) -> None:
    """Sign in to the console as a demo member of staff, through the IdP's page."""
    page.goto(f"{stack.api_url}/console")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#sign-in")
    page.click(f"[id='as-{username}']")
    page.wait_for_url(f"{stack.api_url}/console")
    expect(page.locator("#sign-out")).to_be_visible()


def test_a_reviewer_reviews_an_approver_approves_and_the_customer_is_told(sim, browser, stack):
    application_id = apply_for_a_loan(sim)
    assert application_id.startswith("LA")

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    console = context.new_page()
    errors: list[str] = []
    console.on("pageerror", lambda error: errors.append(str(error)))

    # the reviewer: the queue, the application masked, revealed with a reason, under review
    sign_in(console, stack, "reviewer.a")
    expect(console.locator("#who")).to_contain_text("loan_reviewer")
    row = console.locator(f"#queue [data-application='{application_id}']")
    expect(row).to_contain_text("李**")
    row.locator("[data-open]").click()
    panel = console.locator("#application")
    expect(panel.locator("[data-field=id_number]")).not_to_have_text(ID_NUMBER)
    console.select_option("#reveal-reason", "identity_check")
    console.click("#reveal")
    expect(panel.locator("[data-field=id_number]")).to_have_text(ID_NUMBER)
    expect(panel.locator("[data-field=name]")).to_have_text("李甬")
    console.fill("#decision-reason", "资料齐全，开始审核")
    console.click("[data-move=UNDER_REVIEW]")
    expect(panel.locator("[data-field=status_label]")).to_have_text("审核中")
    expect(panel.locator("[data-field=id_number]")).not_to_have_text(ID_NUMBER)  # masked again after the step
    console.fill("#decision-reason", "收入稳定，负债率低")
    console.click("[data-recommend=approve]")
    expect(panel.locator("[data-history]")).to_contain_text("审核意见：建议通过")

    # approving their own review is refused, on the page and in the API
    console.click("[data-move=APPROVED]")
    expect(console.locator("#notice")).to_contain_text("没有此操作的权限")
    token = console.evaluate("sessionStorage.getItem('id_token')")
    refused = _post(f"{stack.api_url}/loans/staff/applications/{application_id}/transition", token,
                    {"to": "APPROVED", "reason": "自己批准"})
    assert refused == (403, "role_required")
    assert "id_token" not in json.dumps(context.cookies())  # the token never rides in a cookie

    # the approver decides
    console.click("#sign-out")
    expect(console.locator("#sign-in")).to_be_visible()
    sign_in(console, stack, "approver.a")
    expect(console.locator("[data-recommend=approve]")).to_be_hidden()
    # the approver's queue: what is under review, opened masked with the reviewer's recommendation
    row = console.locator(f"#queue [data-application='{application_id}']")
    expect(row).to_contain_text("审核中")
    row.locator("[data-open]").click()
    expect(panel.locator("[data-history]")).to_contain_text("审核意见：建议通过")
    expect(panel.locator("[data-field=name]")).to_have_text("李**")
    expect(console.locator("#reveal")).to_be_hidden()
    console.fill("#decision-reason", "收入稳定，同意")
    console.click("[data-move=APPROVED]")
    expect(panel.locator("[data-field=status_label]")).to_have_text("已通过")
    context.close()
    assert not errors, f"JavaScript errors on the console: {errors}"

    # the customer is told
    sim.deliver()
    expect(sim.templates().filter(has_text="已通过")).to_contain_text(application_id)


def _post(url: str, token: str, body: dict) -> tuple[int, str]:
    from urllib.error import HTTPError

    request = Request(url, data=json.dumps(body).encode(), method="POST",
                      headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urlopen(request, timeout=10) as answer:  # noqa: S310 - the local stack
            return answer.status, json.loads(answer.read()).get("code", "")
    except HTTPError as error:
        return error.code, json.loads(error.read()).get("code", "")

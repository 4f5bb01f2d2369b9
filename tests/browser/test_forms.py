"""Forms that help, in a real browser: the loan form checks each step before the next, in
the server's own words, beside the field at fault."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def test_the_loan_form_checks_each_step_before_the_next(sim):
    sim.follow("分步")
    form = sim.open_link(sim.send_text("贷款"))
    step1, step2 = form.locator("[data-step='1']"), form.locator("[data-step='2']")

    step1.locator("[data-go='2']").click()
    expect(form.locator(".field-error[data-field=product]")).to_have_text("请选择申请产品")
    expect(step1).to_be_visible()

    form.locator("label", has_text="个人消费贷款").click()
    form.locator("input[name=amount]").fill("5000000")
    step1.locator("[data-go='2']").click()
    expect(form.locator(".field-error[data-field=product]")).to_have_count(0)
    expect(form.locator(".field-error[data-field=amount]")).to_have_text("个人消费贷款可申请¥1,000.00至¥300,000.00")
    expect(form.locator(".field-error[data-field=term]")).to_have_text("请填写期限")
    expect(form.locator("input[name=amount]")).to_be_focused()
    expect(step2).to_be_hidden()

    form.locator("input[name=amount]").fill("50000")
    form.locator("select[name=term]").select_option("24")
    form.locator("select[name=purpose]").select_option("renovation")
    step1.locator("[data-go='2']").click()
    expect(step2).to_be_visible()
    expect(step1.locator(".field-error")).to_have_count(0)

    form.locator("input[name=name]").fill("李甬")
    form.locator("input[name=phone]").fill("1390574")
    step2.locator("[data-go='3']").click()
    expect(form.locator(".field-error[data-field=id_number]")).to_have_text("请填写身份证号码")
    expect(form.locator(".field-error[data-field=phone]")).to_have_text("请输入有效的中国大陆手机号码")
    expect(form.locator("input[name=id_number]")).to_be_focused()
    expect(form.locator("[data-step='3']")).to_be_hidden()


def test_the_locate_button_keeps_the_service_a_link_chose(browser, stack):
    """wealth's in-branch assessment links to /booking?service=wealth: using the phone's
    position reorders the branches and keeps the service on the way to the next step."""
    import re

    from functions.common import session
    from tests.browser.customer_pages import wechat_context

    context = wechat_context(browser, stack, session.start("o_locate_wealth"), {"width": 375, "height": 740})
    context.grant_permissions(["geolocation"], origin=stack.url)
    context.set_geolocation({"latitude": 29.8683, "longitude": 121.5440})  # by Tianyi Square, WGS-84
    page = context.new_page()
    page.goto(f"{stack.url}/booking?service=wealth")
    expect(page.locator(".page__hd .page__desc")).to_contain_text("为您预约理财咨询")
    page.locator("#locate").click()
    page.wait_for_url(re.compile(r"service=wealth.*lat=29\.868300&lng=121\.544000"))
    expect(page.locator("[data-group=near]")).to_be_visible()
    first = page.locator("[data-group=near] + .weui-cells a").first
    expect(first).to_have_attribute("href", re.compile(r"^/booking/new\?branch_id=\w+&service=wealth$"))
    first.click()
    expect(page.locator("[data-date]").first).to_be_visible()
    context.close()

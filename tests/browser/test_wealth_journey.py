"""The wealth journey in a real browser at WeChat's size through the simulator: the menu's
理财产品 → the catalogue, filtered → a product with its net value chart → the risk-tolerance
questionnaire → the agreement → the product again, now open to this customer (and a product
above their level, closed with the reason) → a debit card bound in notify, which products
learns through the customer-events channel → the purchase, confirmed by the code texted to
the card's mobile number → the order (处理中) and its template message → core banking
confirms → 我的理财 shows the holding, and the second template message says so."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.core_banking import customer

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def test_catalogue_assessment_agreement_then_a_product_is_open_to_the_customer(sim):
    sim.follow("理财客户")
    article = sim.menu("我的账户", "理财产品")
    expect(article).to_contain_text("理财产品")
    expect(article).to_contain_text("投资须谨慎")

    h5 = sim.open_link(article)
    expect(h5.locator("a[data-product]")).to_have_count(5)
    h5.locator("a[data-term='medium']").click()
    expect(h5.locator("a.chip.on[data-term='medium']")).to_be_visible()
    expect(h5.locator("a[data-product]")).to_have_count(2)  # the 182-day and one-year products
    h5.locator("a[data-risk='R4']").click()
    expect(h5.locator("[data-empty]")).to_be_visible()  # R4 and 3–12 months: none
    h5.locator("[data-filter=term] a.chip", has_text="全部").click()
    h5.locator("a[data-product='YC7001']").click()

    expect(h5.locator("[data-chart] polyline")).to_be_visible()
    expect(h5.locator("[data-readiness=sign_in]")).to_be_visible()  # the catalogue needs no login
    h5.locator("[data-readiness] a", has_text="去评估").click()  # WeChat's login, then the questionnaire

    for n in range(1, 11):
        h5.locator(f"label:has(input[name=q{n}][value='3'])").click()
    h5.locator("[data-submit-assessment]").click()
    expect(h5.locator("[data-notice=assessed]")).to_be_visible()
    expect(h5.locator("[data-level=C3]")).to_contain_text("C3 平衡型")
    expect(h5.locator("[data-expires]")).to_contain_text("2027年")

    h5.locator("a", has_text="理财产品").last.click()
    h5.locator("a[data-product='YC7001']").click()  # R4: above C3
    expect(h5.locator("[data-readiness=above_level]")).to_contain_text("高于您的风险承受能力（C3 平衡型）")
    h5.locator("a", has_text="返回产品列表").click()
    h5.locator("a[data-product='YC0182']").click()  # R2
    expect(h5.locator("[data-readiness=agreement]")).to_be_visible()
    h5.locator("[data-readiness] a", has_text="去签署").click()

    expect(h5.locator("[data-agreement]")).to_contain_text("掌上理财服务协议")
    h5.locator("[data-accept]").click()  # not ticked: refused, nothing recorded
    expect(h5.locator("[data-field=agree]")).to_contain_text("请阅读并勾选同意协议")
    h5.locator("label[for=agree]").click()
    h5.locator("[data-accept]").click()
    expect(h5.locator("[data-accepted]")).to_be_visible()

    h5.locator("a", has_text="理财产品").last.click()
    h5.locator("a[data-product='YC0182']").click()
    expect(h5.locator("[data-readiness=ready]")).to_contain_text("符合本产品的购买条件")

    # a debit card bound in notify reaches products' projection through the customer-events topic
    card, phone = customer("debit")
    last4 = card[-4:]
    h5.locator("[data-buy-link]").click()
    expect(h5.locator("[data-no-cards]")).to_be_visible()
    sim.close_h5()
    sim.bind_card(card, phone)
    sim.stack.drain_queues()

    h5 = sim.open_link(sim.menu("我的账户", "理财产品"))
    h5.locator("a[data-product='YC0182']").click()
    h5.locator("[data-buy-link]").click()
    h5.locator(f"label:has(input[data-card='{last4}'])").click()
    h5.locator("input[name=amount]").fill("5000")  # below the ¥10,000.00 minimum: refused by field
    h5.locator("#disclosure").check()  # the box, not the label: the label holds the disclosure's link
    h5.locator(".js-send").click()
    expect(h5.locator("#form-info")).to_contain_text(f"····{last4}")
    sim.deliver()
    sms = sim.sms().filter(has_text="确认理财产品购买")
    expect(sms).to_have_count(1)
    code = re.search(r"验证码(\d{6})", sms.inner_text()).group(1)
    h5.locator("input[name=code]").fill(code)
    h5.locator("[data-buy]").click()
    expect(h5.locator("[data-field=amount]")).to_contain_text("10,000")
    h5.locator("input[name=amount]").fill("20000")
    h5.locator("#disclosure").check()  # confirmed again on the corrected form
    h5.locator("input[name=code]").fill(code)  # a refused purchase leaves its code for the corrected form
    h5.locator("[data-buy]").click()

    expect(h5.locator("[data-state=PENDING]")).to_have_text("处理中")
    expect(h5.locator("[data-card]")).to_have_text(f"····{last4}")
    order_id = h5.locator("[data-order]").get_attribute("data-order")
    sim.deliver()
    expect(sim.templates().filter(has_text=order_id)).to_contain_text("申购受理")

    sim.stack.settle_orders()  # core banking answers what waits (this order among them)
    sim.deliver()
    expect(sim.templates().filter(has_text="申购成功")).to_contain_text(order_id)
    sim.close_h5()
    mine = sim.open_link(sim.menu("我的账户", "我的理财"))
    holding = mine.locator("[data-holding='YC0182']")
    expect(holding.locator("[data-cost]")).to_have_text("¥20,000.00")
    expect(mine.locator(f"[data-order='{order_id}']")).to_contain_text("申购 甬城稳盈182天 ¥20,000.00")
    expect(mine.locator(f"[data-order='{order_id}']")).to_contain_text("已确认")

"""The wealth journey so far, in a real browser at WeChat's size through the simulator:
the menu's 理财产品 → the catalogue, filtered → a product with its net value chart → the
risk-tolerance questionnaire → the agreement → the product again, now open to this customer
(and a product above their level, closed with the reason). Purchase, holdings and the
template message follow when the purchase is built (issue 23)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

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

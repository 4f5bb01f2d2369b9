"""The simulator page itself: typed coordinates, the safe-mode switch, users kept apart, and
the phone-sized layout (the phone fills the screen, the panels are tabs)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.sim_page import Simulator

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_coordinates_plain_mode_and_separate_users(page, stack):
    sim = Simulator(page, stack)
    first = sim.follow("甲")
    page.uncheck("#encrypt")  # compatible with WeChat's plain mode
    page.click("#to-keyboard")
    page.click("#plus")
    page.fill("#coords input[name=lat]", "29.8706")
    page.fill("#coords input[name=lng]", "121.5528")
    with page.expect_response("**/api/send") as sent:
        page.click("#coords button[type=submit]")
    assert sent.value.json()["encrypted"] is False
    expect(sim.replies().last).to_contain_text("离您最近的网点")
    expect(page.locator("#exchange-status")).to_contain_text("明文模式")

    sim.follow("乙")
    expect(page.locator(".msg_me")).to_have_count(0)  # a new user starts with an empty chat
    page.click("#user-button")
    page.click(f"#users button[data-openid='{first}']")
    expect(page.locator("#user-name")).to_have_text("甲")
    expect(page.locator(".msg_me .location-card")).to_have_count(1)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies["sim_openid"] == first


def test_phone_sized_screen(page, stack):
    page.set_viewport_size({"width": 390, "height": 844})
    sim = Simulator(page, stack)
    sim.follow("手机")
    expect(page.locator(".sim-tabs")).to_be_visible()
    expect(page.locator("#panel-bank")).to_be_hidden()
    assert page.locator(".phone").bounding_box()["width"] == 390

    page.click(".sim-tabs [data-view=bank]")
    expect(page.locator("#panel-bank")).to_be_visible()
    expect(page.locator(".phone")).to_be_hidden()
    page.click(".sim-tabs [data-view=outbox]")
    expect(page.locator("#panel-outbox")).to_be_visible()
    expect(page.locator("#panel-bank")).to_be_hidden()

    page.click(".sim-tabs [data-view=phone]")
    sim.menu_location("老外滩", "附近网点")
    page.click("#menu-items button:has-text('预约申请')")
    expect(page.locator("#submenu")).to_be_visible()


def test_a_created_user_and_the_chat_survive_a_reload(page, stack):
    sim = Simulator(page, stack)
    openid = sim.follow("留下")
    expect(sim.replies().last).to_be_visible()  # the welcome
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#user-name")).to_have_text("留下")
    assert {c["name"]: c["value"] for c in page.context.cookies()}["sim_openid"] == openid
    expect(sim.replies()).not_to_have_count(0)  # the chat so far, as WeChat keeps it
    # `make run` restarted: the stack has forgotten its users; the browser brings its own back
    # as the follower it was (no second welcome)
    stack.simulator.users.pop(openid)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#user-name")).to_have_text("留下")
    assert openid in stack.simulator.users
    expect(sim.replies()).to_have_count(1)

"""Customer journeys in a real browser: the simulator page plays WeChat, the local stack
runs every function as `make run` does. Each journey uses a new user, so journeys never
share data. The end state of each is saved under test-artifacts/browser/."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from functions.common import clock
from tests.browser.sim_page import fill_loan_form
from tests.named_times import FIRST_SLOT, NAMED_TIMES, QUIET_UNTIL

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def test_nearest_branches_from_a_location(sim):
    sim.follow("找网点")
    reply = sim.menu_location("天一广场", "附近网点")  # the menu's location_select button
    expect(reply).to_contain_text("离您最近的网点")
    links = reply.locator("a")
    expect(links).to_have_count(3)
    name = links.first.inner_text()

    branch = sim.open_link(reply, name)
    expect(branch.locator("body")).to_contain_text(name)
    expect(branch.locator("body")).to_contain_text("营业时间")
    navigate = branch.get_by_role("button", name=re.compile("导航")).or_(
        branch.get_by_role("link", name=re.compile("导航")))
    expect(navigate).to_be_visible()
    navigate.scroll_into_view_if_needed()


def _first_bookable_slot(form) -> str:
    """Pick the first open day that still has a slot, then its first slot; returns the
    slot's start as Ningbo reads it. Each day is a page of its own, and its slot list says
    which day it shows (`data-date`): a day is read only once its own page shows it, from
    the list's first entry, a slot or the word that none is left."""
    days = form.locator("a.chip[data-date]:not(.off)")
    expect(days.first).to_be_visible()
    for day in days.evaluate_all("chips => chips.map(chip => chip.dataset.date)"):
        listed = form.locator(f".slots[data-date='{day}']")
        if not listed.count():  # another day is shown: load this one
            form.locator(f"a.chip[data-date='{day}']").click()
        first = listed.locator("a[data-slot], .page__desc").first
        expect(first).to_be_visible()
        start = first.get_attribute("data-slot")
        if start:
            first.click()
            expect(form.locator(f"form input[name=slot_start][value='{start}']")).to_be_attached()
            return clock.show_time(clock.parse_utc(start))
    raise AssertionError("no bookable slot in the next 14 days")


@pytest.mark.parametrize("clock_at", NAMED_TIMES, indirect=True)
def test_book_a_manager_then_cancel(sim, stack, clock_at):
    sim.follow("预约")
    sim.send_place("天一广场")  # nearest bookable branches come first
    article = sim.send_text("预约")
    expect(article).to_contain_text("预约客户经理")

    booking = sim.open_link(article)
    booking.locator("a[data-branch]").first.click()
    booking.locator("a[data-service]").first.click()
    assert _first_bookable_slot(booking) == FIRST_SLOT[clock_at]
    booking.locator("input[name=name]").fill("王小明")
    booking.locator("input[name=mobile]").fill("13805741234")
    booking.get_by_role("button", name="确认预约").click()

    expect(booking.locator("[data-notice=created]")).to_have_text("预约成功")
    manager = booking.locator("[data-manager]").inner_text().strip()
    assert manager
    expect(booking.locator("body")).to_contain_text("138****1234")

    sim.deliver()
    confirmation = sim.templates().filter(has_text="预约成功")
    expect(confirmation).to_have_count(1)
    expect(confirmation).to_contain_text(manager)
    expect(sim.page.locator(".msg_account .template", has_text="预约成功")).to_be_visible()
    # each keyword under its registered label, and the link opens the booking
    card = sim.page.locator(".msg_account .template", has_text="预约成功")
    expect(card.locator("dt")).to_have_text(["预约网点", "预约业务", "预约时间", "客户经理"])
    expect(card.locator(".template__more")).to_have_attribute("href", re.compile(r"/booking/b/\w+"))

    booking.get_by_role("link", name="取消预约").click()
    expect(booking.locator("[data-confirm=cancel]")).to_contain_text("确定取消")
    booking.get_by_role("button", name="确认取消").click()
    expect(booking.locator("[data-notice=cancelled]")).to_have_text("已取消预约")
    expect(booking.locator("[data-status]")).to_have_text("已取消")
    expect(booking.locator("body")).not_to_contain_text("如需取消或改约")
    sim.deliver()
    expect(sim.templates().filter(has_text="预约取消")).to_have_count(1)
    expect(sim.templates().first).to_contain_text("预约取消")  # newest first
    if clock_at in QUIET_UNTIL:
        # confirmations went at once; the reminder of tomorrow's booking, made after the 18:00
        # run, was held for the morning and is dropped there, the booking being cancelled
        sim.set_clock(clock.parse_setting(QUIET_UNTIL[clock_at]))
        stack.fire_schedule("notifyPending")
        sim.deliver()
        expect(sim.templates()).to_have_count(2)
        assert len(_templates_sent(stack, sim.openid)) == 2


@pytest.mark.parametrize("clock_at", ["2026-11-16T23:00"], indirect=True)
def test_a_booking_at_2300_is_confirmed_at_once_and_reminded_at_0800(sim, stack, clock_at):
    sim.follow("夜间预约")
    sim.send_place("天一广场")
    booking = sim.open_link(sim.send_text("预约"))
    booking.locator("a[data-branch]").first.click()
    booking.locator("a[data-service]").first.click()
    _first_bookable_slot(booking)
    booking.locator("input[name=name]").fill("王小明")
    booking.locator("input[name=mobile]").fill("13805745678")
    booking.get_by_role("button", name="确认预约").click()
    expect(booking.locator("[data-notice=created]")).to_have_text("预约成功")
    expect(booking.locator("[data-reminder]")).to_contain_text("预约提醒将于")
    expect(booking.locator("[data-reminder]")).to_contain_text("08:00")
    sim.deliver()
    expect(sim.templates().filter(has_text="预约成功")).to_have_count(1)
    expect(sim.templates().filter(has_text="预约提醒")).to_have_count(0)  # a reminder waits out the night
    sim.set_clock(clock.parse_setting("2026-11-17T08:00"))
    stack.fire_schedule("notifyPending")
    sim.deliver()
    expect(sim.templates().filter(has_text="预约提醒")).to_have_count(1)


def _templates_sent(stack, openid: str) -> list[str]:
    """What the fake WeChat API sent this user as template messages (after a delivery)."""
    return [m.msgid for m in stack.fake_wechat.outbox if m.openid == openid and m.kind == "template"]


GOOD_ID = "330203199001011236"  # checksum valid, born 1990
BAD_ID = "330203199001011237"  # one digit off: the checksum fails


def test_consumer_loan_application(sim):
    sim.follow("贷款")
    article = sim.send_text("贷款")
    expect(article).to_contain_text("贷款在线申请")
    form = sim.open_link(article)

    fill_loan_form(form, BAD_ID)
    form.locator("input[name=consent]").check()
    form.locator("#submit").click()

    error = form.locator(".field-error[data-field=id_number]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("身份证")
    form.locator("input[name=id_number]").fill(GOOD_ID)
    form.locator("[data-step='2'] [data-go='3']").click()
    consent = form.locator("input[name=consent]")
    if not consent.is_checked():
        consent.check()
    form.locator("#submit").click()

    expect(form.locator(".weui-msg__title")).to_have_text("申请已提交")
    expect(form.locator("[data-verdict]")).to_contain_text("预审结果")
    expect(form.locator("body")).to_contain_text("3302**********1236")
    status = form.locator("[data-status]").inner_text().strip()

    sim.close_h5()
    mine = sim.send_text("我的申请")
    expect(mine).to_contain_text("个人消费贷款")
    expect(mine).to_contain_text(status)
    listing = sim.open_link(mine, "查看全部")
    expect(listing.locator("[data-application] [data-status]")).to_have_text(status)


def _core_banking_customer() -> tuple[str, str]:
    """A customer of core banking with one card, unique to this test: (card number, mobile)."""
    from tests.core_banking import customer

    return customer()


def test_bind_a_card_then_card_alerts(sim):
    card, phone = _core_banking_customer()
    last4 = card[-4:]
    sim.follow("绑卡")
    article = sim.send_text("绑卡")
    expect(article).to_contain_text("绑定银行卡")
    bind = sim.open_link(article)
    bind.locator("input[name=card_number]").fill(card)
    bind.locator("input[name=phone]").fill(phone)
    send_code = bind.get_by_role("button", name="获取验证码")
    send_code.click()
    expect(bind.locator("#form-info")).to_contain_text("验证码已发送")
    # the server takes one code a minute per number: the button counts that minute down
    resend = bind.locator(".js-send")
    expect(resend).to_have_text("60秒后重新获取")
    expect(resend).to_be_disabled()
    sim.page.clock.run_for(59_000)
    expect(resend).to_have_text("1秒后重新获取")
    expect(resend).to_be_disabled()
    sim.page.clock.run_for(1_000)
    expect(resend).to_have_text("重新获取")
    expect(resend).to_be_enabled()

    sim.page.click("#outbox-refresh")
    otp_sms = sim.sms().filter(has_text=f"····{last4}")
    expect(otp_sms).to_have_count(1)
    code = re.search(r"验证码(\d{6})", otp_sms.inner_text()).group(1)
    bind.locator("input[name=code]").fill(code)
    bind.get_by_role("button", name="确认绑定").click()
    bound = bind.locator("#bound")
    expect(bound.locator("[data-bound]")).to_have_text("绑定成功")
    expect(bound).to_contain_text(f"卡号····{last4}已绑定")
    expect(bound).to_contain_text("每笔交易都会即时通过微信提醒您")
    expect(bind.locator("#bind-form")).to_be_hidden()
    bound.get_by_role("link", name="完成").click()
    expect(bind.locator("#bindings")).to_contain_text(last4)
    sim.close_h5()

    sim.emit_transaction("88", "宁波银泰百货", last4)
    sim.deliver()
    sim.emit_transaction("1,200", "天一广场苹果店", last4)
    sim.deliver()

    alerts = sim.templates().filter(has_text="交易提醒")
    expect(alerts).to_have_count(2)
    expect(alerts.filter(has_text="¥88.00")).to_have_count(1)
    expect(alerts.filter(has_text="¥1,200.00")).to_have_count(1)
    card_sms = sim.sms().filter(has_text=f"····{last4}").filter(has_not_text="验证码")
    expect(card_sms).to_have_count(1)  # ¥88 is WeChat only; ¥1,200 is WeChat and SMS
    expect(card_sms).to_contain_text("¥1,200.00")
    _scroll_to(card_sms)  # the end state shows both channels
    expect(sim.page.locator(".msg_account .template", has_text="¥1,200.00")).to_be_visible()


def _scroll_to(locator) -> None:
    """Scroll an outbox entry into view; the outbox re-renders as it polls, which can detach
    the element between finding and scrolling it, so try again on a fresh one."""
    from playwright.sync_api import Error

    for attempt in range(5):
        try:
            # found and scrolled in one step in the page: no moment for a re-render between them
            locator.evaluate("(entry) => entry.scrollIntoView({block: 'nearest'})", timeout=2_000)
            return
        except Error:
            if attempt == 4:
                raise

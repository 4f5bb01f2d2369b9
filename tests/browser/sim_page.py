"""What a person does on the simulator page, as Playwright steps the journeys share."""
from __future__ import annotations

import re
from datetime import datetime

from playwright.sync_api import FrameLocator, Locator, Page, expect


class Simulator:
    def __init__(self, page: Page, stack):
        self.page = page
        self.stack = stack
        self.openid = ""

    # --- the user -------------------------------------------------------------------
    def follow(self, nickname: str) -> str:
        """Create a user (a new follower of the account); returns its openid."""
        page = self.page
        page.click("#user-button")
        page.fill("#new-user input[name=nickname]", nickname)
        with page.expect_response(re.compile(r"/api/users$")) as response:
            page.click("#new-user button[type=submit]")
        self.openid = response.value.json()["user"]["openid"]
        expect(page.locator("#user-name")).to_have_text(nickname)
        return self.openid

    # --- chat ---------------------------------------------------------------------------
    def replies(self) -> Locator:
        return self.page.locator(".msg_account .bubble")

    def send_text(self, text: str) -> Locator:
        """Type and send; returns the account's reply bubble."""
        if self.page.locator("#bottom").get_attribute("data-mode") != "keyboard":
            self.page.click("#to-keyboard")
        def type_and_send() -> None:
            self.page.fill("#text", text)
            self.page.click("#send")

        return self._answered(type_and_send)

    def send_place(self, name: str) -> Locator:
        if self.page.locator("#bottom").get_attribute("data-mode") != "keyboard":
            self.page.click("#to-keyboard")
        self.page.click("#plus")
        return self._answered(lambda: self.page.click(f"#places button:has-text('{name}')"))

    def _menu(self, top: str, item: str | None) -> None:
        page = self.page
        if page.locator("#bottom").get_attribute("data-mode") != "menu":
            page.click("#to-menu")
        page.click(f"#menu-items button:has-text('{top}')")
        if item is not None:
            page.locator("#submenu button", has_text=item).click()

    def menu(self, top: str, item: str | None = None) -> Locator:
        """Click a CLICK menu button (top level, or `item` under `top`); returns the reply."""
        return self._answered(lambda: self._menu(top, item))

    def menu_location(self, place: str, top: str, item: str | None = None) -> Locator:
        """A location_select menu button, then a place from WeChat's location picker."""
        self._menu(top, item)
        expect(self.page.locator("#location-sheet")).to_be_visible()
        return self._answered(lambda: self.page.click(f"#places button:has-text('{place}')"))

    def _answered(self, action) -> Locator:
        with self.page.expect_response(re.compile(r"/api/send$")) as response:
            action()
        assert response.value.ok, response.value.text()
        reply = response.value.json()
        assert reply["status"] == 200, reply
        last = self.replies().last
        if reply["reply"]["type"] != "none":
            expect(last).to_be_visible()
        return last

    # --- H5 pages ----------------------------------------------------------------------
    def open_link(self, bubble: Locator, text: str | None = None) -> FrameLocator:
        """Open a link (or a news article) of a reply in the phone's H5 view."""
        target = bubble.locator("a", has_text=text) if text else bubble
        if target.count() > 1:
            target = target.first
        target.click()
        expect(self.page.locator("#h5")).to_be_visible()
        return self.page.frame_locator("#h5-frame")

    def h5(self) -> FrameLocator:
        return self.page.frame_locator("#h5-frame")

    def close_h5(self) -> None:
        self.page.click("#h5-close")

    def bind_card(self, card: str, phone: str) -> None:
        """Bind a card as a customer does: 绑卡, the card and its mobile number, the code the
        SMS brings (`tests/browser/test_journeys.py::test_bind_a_card_then_card_alerts` walks
        the same page step by step)."""
        bind = self.open_link(self.send_text("绑卡"))
        bind.locator("input[name=card_number]").fill(card)
        bind.locator("input[name=phone]").fill(phone)
        bind.get_by_role("button", name="获取验证码").click()
        expect(bind.locator("#form-info")).to_contain_text("验证码已发送")
        self.page.click("#outbox-refresh")
        sms = self.sms().filter(has_text=f"····{card[-4:]}").filter(has_text="验证码")
        code = re.search(r"验证码(\d{6})", sms.inner_text()).group(1)
        bind.locator("input[name=code]").fill(code)
        bind.get_by_role("button", name="确认绑定").click()
        # the success section is in the page from the start, hidden: wait for the answer to show it
        expect(bind.locator("#bound")).to_be_visible()
        expect(bind.locator("#bound")).to_contain_text(f"卡号····{card[-4:]}已绑定")
        self.close_h5()

    # --- time ---------------------------------------------------------------------------
    def set_clock(self, at: datetime) -> None:
        """Move the stack's clock and the browser's together; the clock runs on from `at`."""
        self.stack.set_clock(at)
        self.page.clock.set_system_time(at)

    # --- outbox and core banking --------------------------------------------------------
    def deliver(self) -> None:
        """Hand whatever is queued to the notify function, then refresh the panels."""
        self.stack.drain_queues()
        self.page.click("#outbox-refresh")

    def templates(self) -> Locator:
        return self.page.locator("#outbox-templates .outbox__item")

    def sms(self) -> Locator:
        return self.page.locator("#outbox-sms .outbox__item")

    def emit_transaction(self, amount_yuan: str, merchant: str, card_last4: str) -> None:
        page = self.page
        page.click("#outbox-refresh")
        card = page.locator("#bank-card option", has_text=card_last4)
        expect(card).to_have_count(1)
        page.select_option("#bank-card", label=card.inner_text())
        page.check("#bank-form input[value=transaction]", force=True)
        page.fill("#bank-amount", amount_yuan)
        page.fill("#bank-merchant", merchant)
        with page.expect_response(re.compile(r"/api/bank$")) as response:
            page.click("#bank-emit")
        assert response.value.ok, response.value.text()


def fill_loan_form(form: FrameLocator, id_number: str, phone: str = "13905748888") -> None:
    """Steps 1 and 2 of the consumer-loan form (¥50,000 over 24 months for renovation, the
    applicant 李甬 of Ningbo), on to step 3, where the consent is."""
    form.locator("label", has_text="个人消费贷款").click()
    form.locator("input[name=amount]").fill("50000")
    form.locator("select[name=term]").select_option("24")
    form.locator("select[name=purpose]").select_option("renovation")
    form.locator("[data-step='1'] [data-go='2']").click()
    form.locator("input[name=name]").fill("李甬")
    form.locator("input[name=id_number]").fill(id_number)
    form.locator("input[name=phone]").fill(phone)
    form.locator("input[name=city]").fill("宁波")
    form.locator("input[name=monthly_income]").fill("15000")
    form.locator("select[name=employment_type]").select_option("employee")
    form.locator("[data-step='2'] [data-go='3']").click()

"""What notify answers in the chat: bills.show lists each bound card's latest statement,
card.bind links to the binding page, messages.show the last 30 days' messages."""
from __future__ import annotations

from datetime import timedelta

from functions.common import intents
from functions.common.intents import Intent
from functions.notify import replies, store
from tests.notify import test_bills_and_services as bills

billed = bills.billed  # a customer with a statement of ¥1,234.56 due 2026-03-25, bound to o_bill
ningbo = bills.ningbo


def ask(openid: str, name: str) -> Intent:
    return Intent(kind="ask", openid=openid, name=name)


def test_bills_reply_lists_the_latest_statement_of_each_card(billed, make_customer, queue):
    second = make_customer()
    store.bind("o_bill", second.customer_id, second.card_hash, second.last4)
    reply = replies.answer(ask("o_bill", intents.BILLS_SHOW))
    assert reply.type == "text"
    assert f"····{billed.last4}：本期应还¥1,234.56，最低还款¥123.45，到期还款日3月25日 周三" in reply.text
    assert f"····{second.last4}：暂无账单" in reply.text


def test_bills_reply_without_a_card_offers_binding(aws):
    reply = replies.answer(ask("o_nobody", intents.BILLS_SHOW))
    assert "/notify/bind" in reply.text


def test_bind_card_and_my_messages_replies(billed, fake_wechat_api):
    news = replies.answer(ask("o_bill", intents.CARD_BIND))
    assert news.type == "news" and news.article.url.endswith("/notify/bind")
    reply = replies.answer(ask("o_bill", intents.MESSAGES_SHOW))
    assert "账单通知" in reply.text and "/notify/messages" in reply.text
    for name in intents.NAMES - {intents.CARD_BIND, intents.BILLS_SHOW, intents.MESSAGES_SHOW}:
        assert replies.answer(ask("o_bill", name)).type == "none", name


def test_my_messages_covers_thirty_days(billed, fake_wechat_api, frozen_clock):
    frozen_clock(ningbo(1, 10) + timedelta(days=29))
    assert len(replies.answer(ask("o_bill", intents.MESSAGES_SHOW)).text.splitlines()) == 3
    frozen_clock(ningbo(1, 10) + timedelta(days=31))
    assert replies.answer(ask("o_bill", intents.MESSAGES_SHOW)).text == "近30天没有消息。"

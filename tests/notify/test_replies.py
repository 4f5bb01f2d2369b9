"""What notify answers in the chat: 账单 lists each bound card's latest statement, 绑卡
links to the binding page, 我的消息 the last 30 days' messages."""
from __future__ import annotations

from datetime import timedelta

from functions.common.intents import Intent
from functions.notify import replies, store
from tests.notify import test_bills_and_services as bills

billed = bills.billed  # a customer with a statement of ¥1,234.56 due 2026-03-25, bound to o_bill
ningbo = bills.ningbo


def test_bills_reply_lists_the_latest_statement_of_each_card(billed, make_customer, queue):
    second = make_customer()
    store.bind("o_bill", second.customer_id, second.card_hash, second.last4)
    asks = (Intent(kind="text", openid="o_bill", text="账单"), Intent(kind="click", openid="o_bill", key="BILLS"))
    for intent in asks:
        reply = replies.answer(intent)
        assert reply.type == "text"
        assert f"尾号{billed.last4}：本期应还¥1,234.56，最低还款¥123.45，到期还款日2026-03-25" in reply.text
        assert f"尾号{second.last4}：暂无账单" in reply.text


def test_bills_reply_without_a_card_offers_binding(aws):
    reply = replies.answer(Intent(kind="text", openid="o_nobody", text="账单"))
    assert "/notify/bind" in reply.text


def test_bind_card_and_my_messages_replies(billed, fake_wechat_api):
    news = replies.answer(Intent(kind="click", openid="o_bill", key="BIND_CARD"))
    assert news.type == "news" and news.article.url.endswith("/notify/bind")
    reply = replies.answer(Intent(kind="text", openid="o_bill", text="我的消息"))
    assert "账单通知" in reply.text and "/notify/messages" in reply.text
    assert replies.answer(Intent(kind="text", openid="o_bill", text="你好")).type == "none"


def test_my_messages_covers_thirty_days(billed, fake_wechat_api, frozen_clock):
    frozen_clock(ningbo(1, 10) + timedelta(days=29))
    assert len(replies.answer(Intent(kind="click", openid="o_bill", key="MY_MESSAGES")).text.splitlines()) == 3
    frozen_clock(ningbo(1, 10) + timedelta(days=31))
    assert replies.answer(Intent(kind="click", openid="o_bill", key="MY_MESSAGES")).text == "近30天没有消息。"

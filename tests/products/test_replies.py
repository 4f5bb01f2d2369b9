"""What products answer the webhook: the catalogue as one news article; 我的理财 as a link."""
from __future__ import annotations

from functions.common import intents
from functions.common.intents import Intent, Reply
from functions.products.replies import intent as intent_handler
from tests.products.conftest import load, row


def ask(name: str) -> Reply:
    return Reply.from_dict(intent_handler(Intent(kind="ask", openid="o1", name=name).to_dict(), None))


def test_the_catalogue_is_one_news_article_naming_the_products_on_sale(world):
    load(row(code="WM0091", name="稳享91天"), row(code="CASH01", name="天天利", kind="cash", risk="R1", term_days=0,
         benchmark_low_bp=150, benchmark_high_bp=210), row(code="CLOSED1", name="已停售产品", status="closed"))
    reply = ask(intents.WEALTH_CATALOGUE)
    assert reply.type == "news" and reply.article.url.endswith("/products")
    description = reply.article.description
    assert description.startswith("天天利（R1，业绩比较基准1.50%–2.10%）；稳享91天（R2，")
    assert "共2款产品" in description and "已停售产品" not in description and "投资须谨慎" in description


def test_an_empty_catalogue_still_links_to_the_page(world):
    reply = ask(intents.WEALTH_CATALOGUE)
    assert reply.type == "news" and "暂无在售" in reply.article.description


def test_other_intents_are_not_answered(world):
    for name in intents.NAMES - {intents.WEALTH_CATALOGUE, intents.WEALTH_MINE}:
        assert ask(name).type == "none", name


def test_my_wealth_links_to_the_holdings_page(world):
    reply = ask(intents.WEALTH_MINE)
    assert reply.type == "news" and reply.article.url.endswith("/products/mine")

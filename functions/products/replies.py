"""What products answer in the WeChat chat: the catalogue as one news article (a passive
news reply shows one), naming the products on sale today."""
from __future__ import annotations

from functions.common import intents, urls
from functions.common.intents import Intent, Reply
from functions.products import actions, service

NAMED = 3  # products named in the article's description


def catalogue() -> Reply:
    listed = actions.catalogue()
    if not listed:
        return Reply.news("理财产品", "暂无在售理财产品，敬请期待。", urls.absolute("/products"))
    named = "；".join(f"{p.product.name}（{p.product.risk}，业绩比较基准{service.show_benchmark(p.product)}）"
                     for p in listed[:NAMED])
    description = f"{named}。共{len(listed)}款产品，点击查看。业绩比较基准不代表未来收益，理财非存款，投资须谨慎。"
    return Reply.news("理财产品", description, urls.absolute("/products"))


def mine() -> Reply:
    """A link to 我的理财 (the page signs the customer in: holdings are not told in the chat)."""
    return Reply.news("我的理财", "查看持仓、交易记录，撤单或赎回。理财非存款，投资须谨慎。",
                      urls.absolute("/products/mine"))


def answer(intent: Intent) -> Reply:
    """wealth.catalogue and wealth.mine; any other intent is not products'."""
    if intent.name == intents.WEALTH_CATALOGUE:
        return catalogue()
    if intent.name == intents.WEALTH_MINE:
        return mine()
    return Reply.nothing()


intent = intents.handler(answer)  # the feature's <feature>Intent function (serverless.yml)

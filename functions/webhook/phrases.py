"""What a customer's words ask for, in one place: phrases → intent names, menu keys → intent
names, and each intent name → the feature function that answers it. No other module reads
a customer's words; a feature gets the intent's name (and, for a branch search, the place
words), never the text.

A text, or the transcript of a voice message, is read in a normal form: full-width letters
and case folded (NFKC), traditional and variant characters written simplified, punctuation
and spaces set aside. The first entry of PHRASES with a phrase in the text decides (so
"信用卡账单" is a bill, "绑定信用卡" a binding, "我的预约" not a new booking). Words that
ask for branches (or cash machines) and leave place words ("江北区的ATM") ask for a
branch search of those words; a text that asks for nothing known is tried as a place, a
street or a branch name, unless it holds personal data (an ID, card or mobile number typed
into the chat goes to no feature).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from functions.common import intents, log

BRANCH_LOOKUP = "branchLookupIntent"
BOOKING = "bookingIntent"
LOAN_APPLY = "loanApplyIntent"
NOTIFY = "notifyIntent"
PRODUCTS = "productsIntent"

# Each intent name → the function that answers it (serverless.yml keys).
FUNCTIONS = {
    intents.BRANCH_NEARBY: BRANCH_LOOKUP,
    intents.BRANCH_SEARCH: BRANCH_LOOKUP,
    intents.BOOKING_BOOK: BOOKING,
    intents.BOOKING_MINE: BOOKING,
    intents.LOAN_APPLY: LOAN_APPLY,
    intents.CARD_APPLY: LOAN_APPLY,
    intents.LOAN_MINE: LOAN_APPLY,
    intents.CARD_BIND: NOTIFY,
    intents.BILLS_SHOW: NOTIFY,
    intents.MESSAGES_SHOW: NOTIFY,
    intents.WEALTH_CATALOGUE: PRODUCTS,
    intents.WEALTH_MINE: PRODUCTS,
}

# Menu CLICK keys (infra/menu.json) → intent names.
MENU_KEYS = {
    "BRANCH_NEARBY": intents.BRANCH_NEARBY,
    "BOOKING": intents.BOOKING_BOOK,
    "MY_BOOKINGS": intents.BOOKING_MINE,
    "LOAN_APPLY": intents.LOAN_APPLY,
    "CARD_APPLY": intents.CARD_APPLY,
    "MY_APPLICATIONS": intents.LOAN_MINE,
    "BIND_CARD": intents.CARD_BIND,
    "BILLS": intents.BILLS_SHOW,
    "MY_MESSAGES": intents.MESSAGES_SHOW,
    "WEALTH": intents.WEALTH_CATALOGUE,
    "MY_WEALTH": intents.WEALTH_MINE,
}


@dataclass(frozen=True)
class Phrases:
    """Phrases (in normal form) that ask for `name`, with a branch `service` filter."""

    name: str
    words: tuple[str, ...]
    service: str = ""


# In order: the first entry with a phrase in the text wins. Synonyms, colloquial forms and
# what speech recognition makes of them (代款, 帮定, 帐单 via the variant map).
PHRASES = (
    Phrases(intents.MESSAGES_SHOW, ("我的消息", "消息", "讯息", "通知记录", "提醒记录")),
    Phrases(intents.BILLS_SHOW, ("账单", "还款", "欠款", "应还", "还多少", "还钱")),
    Phrases(intents.CARD_BIND, ("绑卡", "绑定", "帮定", "系结", "绑银行卡", "绑信用卡", "绑储蓄卡", "添加银行卡",
                                "新增银行卡", "关联银行卡")),
    Phrases(intents.BOOKING_MINE, ("我的预约", "查预约", "预约记录", "取消预约", "改预约", "预约改期")),
    Phrases(intents.BOOKING_BOOK, ("预约", "预定", "客户经理", "理财经理", "约个时间", "排号", "取号")),
    Phrases(intents.WEALTH_MINE, ("我的理财", "我的持仓", "持仓", "理财订单", "赎回", "撤单")),
    Phrases(intents.WEALTH_CATALOGUE, ("理财", "买理财", "理财产品", "净值", "现金管理")),
    Phrases(intents.LOAN_MINE, ("我的申请", "申请进度", "申请记录", "审批进度", "审批结果", "我的贷款")),
    Phrases(intents.CARD_APPLY, ("信用卡", "办卡", "申请卡")),
    Phrases(intents.LOAN_APPLY, ("贷款", "代款", "贷个款", "借款", "借钱", "借点钱", "房贷", "车贷", "消费贷",
                                 "经营贷")),
    Phrases(intents.BRANCH_NEARBY, ("atm", "取款机", "提款机", "柜员机", "自助银行", "自助取款", "取钱", "取现"),
            service=intents.ATM),
    Phrases(intents.BRANCH_NEARBY, ("网点", "营业厅", "营业部", "支行", "分行", "附近", "周边", "离我最近", "离我近")),
)
HELP = frozenset({"帮助", "菜单", "选单", "help", "你好", "您好", "hi", "hello", "在吗", "客服", "人工", "人工客服"})
# Words around a branch question that name no place ("附近的ATM在哪里").
FILLERS = ("在哪里", "在哪儿", "在哪", "哪里", "哪儿", "哪个", "哪家", "有没有", "有吗", "请问", "我要",
           "我想", "帮我", "查一下", "查询", "查找", "一下", "甬城银行", "银行", "最近", "的", "吗", "呢", "吧",
           "啊", "呀", "嗯")
_BRANCH_WORDS = sorted({w for p in PHRASES if p.name == intents.BRANCH_NEARBY for w in p.words} | set(FILLERS),
                       key=len, reverse=True)
_APART = re.compile(r"[\W_]+")

# Traditional (and variant) characters of the phrases above → simplified, checked against
# OpenCC by the tests; Taiwan's own words (繫結, 訊息, 選單) are phrases of their own. A full
# conversion table would cost every cold start a dictionary.
_SIMPLIFIED = str.maketrans("個儲兒員問單嗎審幫廳應戶時業機櫃沒營現約結綁經網繫聯號裏裡訊記詢請財"
                            "貸費賬車辦進選還邊銀錄錢間關離預點帳帐淨倉贖訂",
                            "个储儿员问单吗审帮厅应户时业机柜没营现约结绑经网系联号里里讯记询请财"
                            "贷费账车办进选还边银录钱间关离预点账账净仓赎订")


@dataclass(frozen=True)
class Meaning:
    """What a text asks for: the webhook's help (`help`), or an intent `name` with the
    `query` and `service` of a branch question."""

    name: str = ""
    query: str = ""
    service: str = ""
    help: bool = False


def normal(text: str) -> str:
    """`text` in normal form: NFKC, lower case, simplified, punctuation as single spaces."""
    folded = unicodedata.normalize("NFKC", text).lower().translate(_SIMPLIFIED)
    return _APART.sub(" ", folded).strip()


def understand(text: str) -> Meaning:
    """The meaning of a customer's text."""
    words = normal(text)
    compact = words.replace(" ", "")
    if not compact or compact in HELP:
        return Meaning(help=True)
    for phrases in PHRASES:
        if any(word in compact for word in phrases.words):
            if phrases.name == intents.BRANCH_NEARBY:
                return _branches(words, phrases.service)
            return Meaning(phrases.name)
    if _personal(words):  # an ID, card or mobile number is no place: it goes nowhere
        return Meaning(help=True)
    return Meaning(intents.BRANCH_SEARCH, query=words)  # a place, street or branch name, perhaps


def _personal(words: str) -> bool:
    """Personal data as the logs mask it (ID, card and mobile numbers)."""
    return log.scrub(words) != words


def _branches(words: str, service: str) -> Meaning:
    """Branches near the customer, or a search when place words are left ("鄞州 ATM")."""
    for word in _BRANCH_WORDS:
        words = words.replace(word, " ")
    place = " ".join(part for part in words.split() if len(part) >= 2)
    if place and not _personal(place):
        return Meaning(intents.BRANCH_SEARCH, query=place, service=service)
    return Meaning(intents.BRANCH_NEARBY, service=service)

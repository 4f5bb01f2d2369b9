"""The routing table, in one place: which feature answers which message, and what the
webhook answers itself (welcome, help). Plain Python; knows WeChat, not banking."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.common import config
from functions.common.intents import Intent, Reply
from functions.common.wechat import protocol

BRANCH_LOOKUP = "branchLookupIntent"
BOOKING = "bookingIntent"
LOAN_APPLY = "loanApplyIntent"
NOTIFY = "notifyIntent"

# Menu CLICK keys (infra/menu.json) → the feature that owns them.
MENU_KEYS = {
    "BRANCH_NEARBY": BRANCH_LOOKUP,
    "BOOKING": BOOKING,
    "MY_BOOKINGS": BOOKING,
    "LOAN_APPLY": LOAN_APPLY,
    "CARD_APPLY": LOAN_APPLY,
    "MY_APPLICATIONS": LOAN_APPLY,
    "BIND_CARD": NOTIFY,
    "BILLS": NOTIFY,
    "MY_MESSAGES": NOTIFY,
}

# Keywords found in a text, first match wins (so "信用卡账单" is a bill, not an application).
KEYWORDS: tuple[tuple[str, str], ...] = (
    ("我的消息", NOTIFY),
    ("账单", NOTIFY),
    ("绑卡", NOTIFY),
    ("我的预约", BOOKING),
    ("预约", BOOKING),
    ("我的申请", LOAN_APPLY),
    ("贷款", LOAN_APPLY),
    ("信用卡", LOAN_APPLY),
    ("网点", BRANCH_LOOKUP),
    ("附近", BRANCH_LOOKUP),
    ("atm", BRANCH_LOOKUP),
    ("营业厅", BRANCH_LOOKUP),
    ("支行", BRANCH_LOOKUP),
)
HELP_WORDS = frozenset({"帮助", "菜单", "help", "?", "？", "你好", "您好"})
WELCOME_EVENTS = frozenset({"subscribe", "subscribe_scan", "subscribe_scan_product"})


def help_text() -> str:
    return (
        "您好，这里是甬城银行微信服务。您可以：\n"
        "· 发送位置或回复“网点”，查找附近网点和ATM\n"
        "· 回复“预约”，预约客户经理\n"
        "· 回复“贷款”或“信用卡”，在线申请\n"
        "· 回复“绑卡”“账单”，绑定银行卡、查看账单\n"
        f"也可以使用下方菜单。客服热线 {config.settings().hotline}"
    )


def welcome_text() -> str:
    return "感谢关注甬城银行！\n" + help_text()


def fallback_text() -> str:
    """What the user sees when a feature is slow or failing; never WeChat's outage notice."""
    return f"抱歉，系统正忙，请稍后再试。如需帮助，请致电客服热线 {config.settings().hotline}。"


@dataclass(frozen=True)
class Route:
    """Where a message goes: a feature (`function` + `intent`) or the webhook's own `reply`."""

    function: str | None = None
    intent: Intent | None = None
    reply: Reply | None = None
    # LOCATION, unsubscribe and delivery reports take no answer but `success`.
    silent: bool = False
    # text and menu clicks: a feature's "nothing" becomes the help text
    help_on_nothing: bool = False


def keyword_owner(text: str) -> str:
    lowered = text.lower()
    for keyword, function in KEYWORDS:
        if keyword in lowered:
            return function
    return BRANCH_LOOKUP  # place, street or branch name search


def route(message: Any) -> Route:
    """The route for a parsed wechatpy message or event. Unknown kinds never fail."""
    intent = protocol.to_intent(message)
    event = protocol.event_name(message)
    if intent is None:
        if event in WELCOME_EVENTS:
            return Route(reply=Reply.say(welcome_text()))
        text = _recognised_voice(message)
        if text:
            raw = message._data
            return _text_route(Intent(kind="text", openid=raw["FromUserName"], create_time=int(raw["CreateTime"]),
                                      msg_id=str(raw.get("MsgId") or ""), text=text))
        return Route(reply=Reply.nothing() if event else Reply.say(help_text()))
    if intent.kind == "text":
        return _text_route(intent)
    if intent.kind == "click":
        function = MENU_KEYS.get(intent.key)
        return Route(function, intent, help_on_nothing=True) if function else Route(reply=Reply.say(help_text()))
    if intent.kind == "location":
        return Route(BRANCH_LOOKUP, intent, help_on_nothing=True)
    if intent.kind == "location_report":
        return Route(BRANCH_LOOKUP, intent, silent=True)
    # unsubscribe, delivery_report
    return Route(NOTIFY, intent, silent=True)


def _text_route(intent: Intent) -> Route:
    text = intent.text.strip()
    if not text or text.lower() in HELP_WORDS:
        return Route(reply=Reply.say(help_text()))
    return Route(keyword_owner(text), intent, help_on_nothing=True)


def _recognised_voice(message: Any) -> str:
    """Voice messages carry WeChat's transcript when speech recognition is on."""
    if str(message._data.get("MsgType", "")).lower() != "voice":
        return ""
    recognition = message._data.get("Recognition")
    return recognition.strip().rstrip("。！？!?.") if isinstance(recognition, str) else ""

"""Where each message goes: a feature's intent (words and menu keys through the phrase
table, locations, unfollows, delivery reports) or the webhook's own answer (welcome, help).
Plain Python; knows WeChat, not banking."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.common import config
from functions.common.intents import Intent, Location, Reply
from functions.common.wechat.protocol import Inbound, MalformedMessage, event_name
from functions.webhook import phrases

WELCOME_EVENTS = frozenset({"subscribe", "subscribe_scan", "subscribe_scan_product"})


def help_text() -> str:
    return (
        "您好，这里是甬城银行微信服务。您可以：\n"
        "· 点击菜单“附近网点”或回复“网点”，查找附近网点和ATM\n"
        "· 点击菜单“预约申请”→“预约客户经理”，或回复“预约”\n"
        "· 点击菜单“预约申请”→“贷款申请”“信用卡申请”，或回复“贷款”“信用卡”\n"
        "· 点击菜单“我的账户”→“绑定银行卡”“账单查询”，或回复“绑卡”“账单”\n"
        "· 点击菜单“我的账户”→“理财产品”，或回复“理财”\n"
        f"客服热线 {config.settings().hotline}"
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
    # words and menu clicks: a feature's "nothing" becomes the help text
    help_on_nothing: bool = False


def route(inbound: Inbound) -> Route:
    """The route of a parsed message or event. Unknown kinds never fail; impossible values
    in the fields a route reads are a MalformedMessage."""
    msg_type, event = inbound.text("MsgType").lower(), event_name(inbound)
    base: dict[str, Any] = {"openid": inbound.text("FromUserName"), "create_time": int(inbound.text("CreateTime")),
            "msg_id": inbound.text("MsgId") or inbound.text("MsgID")}
    try:
        if msg_type == "text":
            return _words(inbound.text("Content"), base)
        if msg_type == "voice" and inbound.text("Recognition"):  # WeChat's transcript, when enabled
            return _words(inbound.text("Recognition"), base)
        if event == "click":
            name = phrases.MENU_KEYS.get(inbound.text("EventKey"))
            return _ask(name, base) if name else Route(reply=Reply.say(help_text()))
        if msg_type == "location":
            where = Location(float(inbound.fields["Location_X"]), float(inbound.fields["Location_Y"]),
                             label=inbound.text("Label"))
            return _branches("location", where, base)
        if event == "location_select":
            info = inbound.fields["SendLocationInfo"]
            label = info.get("Label") or info.get("Poiname")
            where = Location(float(info["Location_X"]), float(info["Location_Y"]),
                             label=label if isinstance(label, str) else "")
            return _branches("location", where, base)
        if event == "location":
            where = Location(float(inbound.fields["Latitude"]), float(inbound.fields["Longitude"]),
                             precision=float(inbound.fields.get("Precision") or 0))
            return _branches("location_report", where, base)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise MalformedMessage(f"bad {msg_type} {event}: {type(error).__name__}") from None
    if event == "unsubscribe":
        return Route(phrases.NOTIFY, Intent(kind="unsubscribe", **base), silent=True)
    if event == "templatesendjobfinish":
        report = Intent(kind="delivery_report", template_msg_id=inbound.text("MsgID"), status=inbound.text("Status"),
                        **base)
        return Route(phrases.NOTIFY, report, silent=True)
    if event in WELCOME_EVENTS:
        return Route(reply=Reply.say(welcome_text()))
    return Route(reply=Reply.nothing() if event else Reply.say(help_text()))


def _words(text: str, base: dict[str, Any]) -> Route:
    meaning = phrases.understand(text)
    if meaning.help:
        return Route(reply=Reply.say(help_text()))
    return _ask(meaning.name, base, query=meaning.query, service=meaning.service)


def _ask(name: str, base: dict[str, Any], query: str = "", service: str = "") -> Route:
    intent = Intent(kind="ask", name=name, query=query, service=service, **base)
    return Route(phrases.FUNCTIONS[name], intent, help_on_nothing=True)


def _branches(kind: str, where: Location, base: dict[str, Any]) -> Route:
    """A location for branch lookup: answered (location), or kept silently (LOCATION)."""
    report = kind == "location_report"
    return Route(phrases.BRANCH_LOOKUP, Intent(kind=kind, location=where, **base), silent=report,
                 help_on_nothing=not report)

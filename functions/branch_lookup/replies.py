"""What branch lookup answers in WeChat: a location → the nearest branches; branch.search →
a search by place, street or name; branch.nearby → the nearest branches to the last location;
auto-reported locations are kept (a day) for the other features and get no reply.

Text replies only, each within WeChat's 2048-byte limit: entries are added while they fit,
and the closing line always does."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from html import escape
from typing import Any

from functions.branch_lookup import service, store
from functions.branch_lookup.service import SERVICES, Found
from functions.branch_lookup.spatial import RADIUS_CAP_M
from functions.common import config, intents, urls
from functions.common.branches import show_distance
from functions.common.intents import Intent, Reply

TEXT_LIMIT_BYTES = 2048
LIST_SIZE = 5


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def fit(head: str, items: list[str], tail: str = "") -> str:
    """Head, as many whole items as fit, then tail; never more than the limit."""
    text = head
    for item in items:
        if _size(text + "\n" + item + ("\n" + tail if tail else "")) > TEXT_LIMIT_BYTES:
            break
        text += "\n" + item
    return text + ("\n" + tail if tail else "")


def _link(url: str, label: str) -> str:
    return f'<a href="{escape(url)}">{escape(label, quote=False)}</a>'


def _item(n: int, branch: dict[str, Any], at: datetime | None, distance: float | None) -> str:
    title = _link(urls.absolute(service.page_path(branch["id"])), branch["name"])
    where = show_distance(distance) if distance is not None else branch["address"]
    return f"{n}. {title}\n{where} · {service.opening_status(branch, at).label()}"


def nearest(found: list[Found], at: datetime | None = None, what: str | None = None) -> str:
    label = SERVICES[what] if what else ""
    head = f"离您最近的{label}网点：" if label else "离您最近的网点："
    items = [_item(i, f.branch, at, f.distance_m) for i, f in enumerate(found, 1)]
    return fit(head, items, "点击网点名称查看营业时间和导航。")


def matches(shown: list[dict[str, Any]], total: int, q: str, at: datetime | None = None) -> str:
    """The first LIST_SIZE of `total` matches, and a link to them all."""
    items = [_item(i, b, at, None) for i, b in enumerate(shown[:LIST_SIZE], 1)]
    tail = ""
    if total > LIST_SIZE:
        tail = "查看全部：" + _link(urls.absolute("/branches/search", q=q), f"共{total}个网点")
    return fit(f"为您找到{total}个网点：", items, tail)


def none_near(hotline: str, cap_m: float, what: str | None = None) -> str:
    label = SERVICES[what] if what else ""
    place = f"提供{label}服务的网点" if label else "甬城银行网点"
    return (f"您周边{round(cap_m / 1000)}公里内暂无{place}。如需帮助，请致电客服热线 {hotline}，"
            "或发送区县名称（如“鄞州 网点”）查询。")


def none_found(q: str, hotline: str) -> str:
    return f"没有找到与“{q[:20]}”相关的网点。可发送区县、街道或网点名称重新查询，或致电客服热线 {hotline}。"


def ask_location() -> str:
    return ("请发送您的位置，为您查找最近的网点：点击菜单“附近网点”，或点对话框的“+”选择“位置”发送。"
            "也可以直接发送区县、街道或网点名称，如“鄞州 网点”。")


# ----- answers -----------------------------------------------------------------------------

def _near_point(lat: float, lng: float, what: str | None) -> Reply:
    found = service.nearby(store, lat, lng, 3, service=what)
    if not found:
        return Reply.say(none_near(config.settings().hotline, RADIUS_CAP_M, what))
    return Reply.say(nearest(found, what=what))


def _near_user(openid: str, what: str | None) -> Reply:
    located = store.last_location(openid)
    return _near_point(*located, what) if located else Reply.say(ask_location())


def _search(intent: Intent) -> Reply:
    """The branches a search names (a district, a street, a branch); a service without a
    place ("能换外汇的"): the nearest that offer it."""
    query = service.parse(intent.query)
    what = intent.service or query.service
    if not (query.terms or query.district):
        return _near_user(intent.openid, what) if what else Reply.nothing()
    listed = service.matching(store, replace(query, service=what))
    if listed:  # only those the reply shows are read whole
        shown = store.get([b["id"] for b in listed[:LIST_SIZE]])
        return Reply.say(matches(shown, len(listed), intent.query.strip()))
    # a place we do not know: the webhook sends its help text
    return Reply.nothing() if query.terms else Reply.say(none_found(intent.query.strip(),
                                                                    config.settings().hotline))


def answer(intent: Intent) -> Reply:
    """Locations → the nearest branches; branch.nearby → near the last location;
    branch.search → a search; auto-reported locations are kept (a day) for the other
    features and get no reply."""
    point = service.point(intent.location) if intent.location else None
    if intent.kind in ("location", "location_report") and point:
        store.save_location(intent.openid, *point)
        if intent.kind == "location":
            return _near_point(*point, None)
    elif intent.name == intents.BRANCH_NEARBY:
        return _near_user(intent.openid, intent.service or None)
    elif intent.name == intents.BRANCH_SEARCH and intent.query.strip():
        return _search(intent)
    return Reply.nothing()


intent = intents.handler(answer)  # the feature's <feature>Intent function (serverless.yml)

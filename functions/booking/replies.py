"""What booking answers in the WeChat chat: a link to the booking pages (nearest bookable
branches named first when the customer's last location is known) and the customer's
upcoming bookings."""
from __future__ import annotations

from functions.booking import actions, service
from functions.common import branches, clock, intents, urls
from functions.common.intents import Intent, Reply
from functions.common.log import get_logger

logger = get_logger()


def book(openid: str) -> Reply:
    try:
        near = branches.nearest(k=3, openid=openid, bookable=True)
    except Exception:  # noqa: BLE001 - the link alone still answers the customer
        logger.warning("nearest branches unavailable")
        near = []
    if near:
        named = "、".join(f"{b['name']}（{branches.show_distance(b.get('distance_m', 0))}）" for b in near)
        description = f"离您最近的可预约网点：{named}。点击选择网点、业务和时间。"
    else:
        description = "选择网点、业务和时间，客户经理将在网点为您服务。"
    return Reply.news("预约客户经理", description, urls.absolute("/booking"))


def mine(openid: str) -> Reply:
    found = actions.upcoming(openid)
    if not found:
        return Reply.say(f"您目前没有预约。<a href=\"{urls.absolute('/booking')}\">立即预约客户经理</a>")
    lines = ["您的预约："]
    for i, b in enumerate(found, 1):
        lines.append(f"{i}. {clock.show_time(b.start)} {b.branch_name} {service.SERVICES[b.service]}"
                     f"（客户经理 {b.manager_name}）<a href=\"{urls.absolute(actions.detail_path(b.id))}\">查看</a>")
    lines.append(f"<a href=\"{urls.absolute('/booking/mine')}\">管理我的预约</a>")
    return Reply.say("\n".join(lines))


def answer(intent: Intent) -> Reply:
    """booking.book and booking.mine; any other intent is not booking's."""
    if intent.name == intents.BOOKING_MINE:
        return mine(intent.openid)
    if intent.name == intents.BOOKING_BOOK:
        return book(intent.openid)
    return Reply.nothing()


intent = intents.handler(answer)  # the feature's <feature>Intent function (serverless.yml)

"""What booking answers the webhook: the booking link (nearest bookable branches first when
the customer's location is known) and the customer's upcoming bookings."""
from functions.booking import actions
from functions.booking.replies import intent as intent_handler
from functions.common import intents
from functions.common.intents import Intent, Location, Reply
from infra.local import runtime
from tests.booking.conftest import form
from tests.conftest import CONFIG


def ask(name: str, openid: str = "o1") -> Reply:
    return Reply.from_dict(intent_handler(Intent(kind="ask", openid=openid, name=name).to_dict(), None))


def test_booking_gives_the_booking_link(world):
    reply = ask(intents.BOOKING_BOOK)
    assert reply.type == "news" and reply.article.url.endswith("/booking")
    assert "选择网点" in reply.article.description


def test_nearest_bookable_branches_come_first_when_the_location_is_known(world):
    report = Intent(kind="location_report", openid="o1", location=Location(lat=29.821, lng=121.551)).to_dict()
    runtime.call(CONFIG, "branchLookupIntent", report)
    reply = ask(intents.BOOKING_BOOK)
    assert "离您最近的可预约网点：测试支行T01（" in reply.article.description
    assert "测试支行T02" not in reply.article.description  # not bookable


def test_my_bookings_lists_upcoming_ones_with_links(world):
    empty = ask(intents.BOOKING_MINE)
    assert empty.type == "text" and "没有预约" in empty.text and "/booking\"" in empty.text
    booking = actions.create("o1", form())
    cancelled = actions.create("o1", form(slot_start="2026-12-01T02:00:00Z"))
    actions.cancel("o1", cancelled.id)
    reply = ask(intents.BOOKING_MINE)
    assert "12月1日 周二 09:00 测试支行T01 理财咨询（客户经理 王芳）" in reply.text
    assert f"/booking/b/{booking.id}" in reply.text and cancelled.id not in reply.text
    assert "13812345678" not in reply.text
    assert len(reply.text.encode()) <= 2048
    assert ask(intents.BOOKING_MINE, openid="o2").text.startswith("您目前没有预约")


def test_other_intents_are_not_answered(world):
    for name in intents.NAMES - {intents.BOOKING_BOOK, intents.BOOKING_MINE}:
        assert ask(name).type == "none", name

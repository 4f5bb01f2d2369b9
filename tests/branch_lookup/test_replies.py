"""What the account says in WeChat: the webhook's intents answered against the demo data."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.common import intents
from functions.common.intents import Intent, Location, Reply
from tests.branch_lookup.conftest import make_branch

MONDAY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TIANYI = Location(29.8706, 121.5528, "天一广场")


NONE = {"v": intents.VERSION, "type": "none"}


def ask(kind="ask", openid="o-user", **kw) -> dict:
    """Through the Lambda handler and its JSON contract, as the webhook calls it."""
    from functions.branch_lookup import replies

    return Reply.from_dict(replies.intent(Intent(kind=kind, openid=openid, **kw).to_dict(), None)).to_dict()


def nearby(openid="o-user", service="") -> dict:
    return ask(openid=openid, name=intents.BRANCH_NEARBY, service=service)


def search(query: str, openid="o-user", service="") -> dict:
    return ask(openid=openid, name=intents.BRANCH_SEARCH, query=query, service=service)


def links(text: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', text)


def fits(reply: dict) -> bool:
    return reply["type"] != "text" or len(reply["text"].encode("utf-8")) <= 2048


def test_location_answers_the_three_nearest_with_distance_status_and_link(demo, frozen_clock):
    frozen_clock(MONDAY_10AM)
    reply = ask("location", location=TIANYI)
    text = reply["text"]
    assert reply["type"] == "text" and fits(reply)
    assert text.startswith("离您最近的网点：")
    assert [u.rsplit("/", 1)[1] for u in links(text)] == ["HS01", "HS08", "HS02"]
    assert "甬城银行天一广场支行" in text and re.search(r"\d+米", text)
    assert "营业中，12:00结束" in text and "24小时营业" in text
    assert all(u.startswith("http://127.0.0.1:8000/branches/view/") for u in links(text))


def test_distance_is_shown_in_km_above_a_kilometre(demo, frozen_clock):
    frozen_clock(MONDAY_10AM)
    text = ask("location", location=Location(29.50, 121.80))["text"]  # between Xiangshan and Ninghai
    assert re.search(r"\d+(\.\d)?公里", text) and not re.search(r"\d+米", text)


def test_lunch_break_and_closed_days_are_told(demo, frozen_clock):
    frozen_clock(datetime(2026, 3, 2, 12, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert "今日13:30开始营业" in ask("location", location=TIANYI)["text"]
    frozen_clock(datetime(2026, 10, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert "今日已停止营业（国庆节休息）" in ask("location", location=TIANYI)["text"]


def test_outside_the_radius_cap_gives_the_hotline(demo):
    reply = ask("location", location=Location(39.9042, 116.4074))  # Beijing
    assert reply["type"] == "text" and "0574-96528" in reply["text"] and "50公里" in reply["text"]


def test_location_report_is_kept_for_a_day_and_not_answered(demo, frozen_clock):
    from functions.branch_lookup import store

    frozen_clock(MONDAY_10AM)
    assert ask("location_report", openid="o-report", location=TIANYI) == NONE
    assert store.last_location("o-report") == pytest.approx((29.8706, 121.5528))
    frozen_clock(datetime(2026, 3, 3, 10, 1, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert store.last_location("o-report") is None


def test_nearby_without_a_location_asks_for_one(demo):
    for reply in (nearby("o-nowhere"), nearby("o-nowhere", service=intents.ATM)):
        assert "请发送您的位置" in reply["text"]


def test_nearby_uses_the_last_location(demo, frozen_clock):
    frozen_clock(MONDAY_10AM)
    ask("location_report", openid="o-known", location=TIANYI)
    assert links(nearby("o-known")["text"])[0].endswith("/HS01")


def test_atm_filters_to_branches_with_atms(demo, frozen_clock):
    from functions.branch_lookup import store

    frozen_clock(MONDAY_10AM)
    ask("location_report", openid="o-atm", location=TIANYI)
    text = nearby("o-atm", service=intents.ATM)["text"]
    assert text.startswith("离您最近的自助取款网点")
    ids = [u.rsplit("/", 1)[1] for u in links(text)]
    assert len(ids) == 3 and all("atm" in b["services"] for b in store.get(ids))


def test_a_search_for_atms_in_a_district(demo):
    from functions.branch_lookup import store

    ids = [u.rsplit("/", 1)[1] for u in links(search("江北区", service=intents.ATM)["text"]) if "/view/" in u]
    assert ids and all(b["district"] == "江北区" and "atm" in b["services"] for b in store.get(ids))


def test_a_service_without_a_place_gives_the_nearest_offering_it(demo, frozen_clock):
    from functions.branch_lookup import store

    frozen_clock(MONDAY_10AM)
    ask("location_report", openid="o-fx", location=TIANYI)
    ids = [u.rsplit("/", 1)[1] for u in links(search("能换外汇", openid="o-fx")["text"])]
    assert ids and all("fx" in b["services"] for b in store.get(ids))


@pytest.mark.parametrize(("text", "district"),
                         [("鄞州 网点", "鄞州区"), ("江北区", "江北区"), ("象山县的支行", "象山县")])
def test_district_names_list_its_branches(demo, text, district):
    from functions.branch_lookup import store

    reply = search(text)
    ids = [u.rsplit("/", 1)[1] for u in links(reply["text"]) if "/view/" in u]
    assert ids and {b["district"] for b in store.get(ids)} == {district}
    assert fits(reply)


def test_long_lists_link_to_the_list_page(demo):
    text = search("鄞州 网点")["text"]
    assert "共10个网点" in text and "/branches/search?q=" in text


@pytest.mark.parametrize(("text", "expected"), [("鼓楼", "HS02"), ("中山东路", "HS01"), ("慈城支行", "JB04"),
                                                ("三北大街", "CX01")])
def test_place_street_and_branch_names_find_branches(demo, text, expected):
    assert links(search(text)["text"])[0].endswith(f"/{expected}")


def test_unknown_places_are_left_to_the_webhook(demo):
    for text in ("今天天气怎么样", "xyz", "?", "我想"):
        assert search(text) == NONE, text


def test_a_district_with_no_such_service_says_so(aws):
    from infra.local.demo import branch_lookup

    branch_lookup.load([make_branch("S1", 29.82, 121.55, services=["cash"])])
    reply = search("鄞州 保管箱")
    assert reply["type"] == "text" and "没有找到" in reply["text"] and "0574-96528" in reply["text"]


def test_long_names_still_fit_the_limit(aws):
    from infra.local.demo import branch_lookup

    branch_lookup.load([make_branch(f"LONG{n}", 29.87 + n / 1000, 121.55, name="甬城银行" + "很" * 30 + f"{n}支行",
                                    address="宁波市鄞州区" + "长" * 80) for n in range(30)])
    listed = search("鄞州")
    assert fits(listed) and len(listed["text"].encode()) > 1500 and "共30个网点" in listed["text"]
    assert fits(ask("location", location=Location(29.87, 121.55)))


@given(text=st.text(min_size=1, max_size=300) | st.sampled_from(["附近ATM", "鄞州 理财", "宁波网点", "海曙区 保管箱"]))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_search_reply_fits_wechat(demo, text):
    assert fits(search(text, openid="o-fuzz"))


@given(lat=st.floats(-90, 90), lng=st.floats(-180, 180))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_location_reply_fits_wechat(demo, lat, lng):
    reply = ask("location", openid="o-fuzz", location=Location(lat, lng))
    assert reply["type"] == "text" and fits(reply)


def test_other_intents_get_no_reply(demo):
    assert ask(name=intents.BOOKING_BOOK) == NONE
    assert ask("unsubscribe") == NONE



def test_a_search_reply_reads_whole_only_the_branches_it_shows(demo):
    """"鄞州" matches more branches than a reply lists: the catalogue counts them all, and
    only the five shown are read whole (the first reply waits on two small reads)."""
    from functions.branch_lookup import service, store
    from tests.branch_lookup.test_store import Requests

    total = len(service.matching(store, service.parse("鄞州")))
    assert total > 5
    requests = Requests()
    with requests as seen:
        text = search("鄞州")["text"]
    assert seen == ["GetItem", "BatchGetItem"] and requests.items[-1] == 5
    assert text.startswith(f"为您找到{total}个网点") and len([u for u in links(text) if "/view/" in u]) == 5

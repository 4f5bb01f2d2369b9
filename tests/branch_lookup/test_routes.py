"""JSON routes and H5 pages through Chalice's test client."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from tests.branch_lookup.conftest import make_branch

MONDAY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def client(demo):
    from functions.branch_lookup.app import app

    with Client(app) as test_client:
        yield test_client


def get(client, path):
    res = client.http.get(path)
    ctype = {k.lower(): v for k, v in res.headers.items()}.get("content-type", "")
    return res.status_code, (json.loads(res.body) if "json" in ctype else res.body.decode())


def fields(body) -> dict[str, str]:
    return {f["field"]: f["code"] for f in body["fields"]}


def test_nearby_returns_k_closest_with_status_distance_and_page(client, frozen_clock):
    frozen_clock(MONDAY_10AM)
    status, body = get(client, "/branches/api/nearby?lat=29.8706&lng=121.5528&k=4")
    assert status == 200
    branches = body["branches"]
    assert [b["id"] for b in branches][:3] == ["HS01", "HS08", "HS02"] and len(branches) == 4
    assert [b["distance_m"] for b in branches] == sorted(b["distance_m"] for b in branches)
    assert branches[0]["status"]["state"] == "open" and branches[0]["url"].endswith("/branches/view/HS01")


def test_nearby_filters(client, frozen_clock):
    frozen_clock(datetime(2026, 3, 2, 12, 30, tzinfo=ZoneInfo("Asia/Shanghai")))  # lunch break
    _, body = get(client, "/branches/api/nearby?lat=29.8706&lng=121.5528&k=3&service=fx")
    assert body["branches"] and all("fx" in b["services"] for b in body["branches"])
    _, body = get(client, "/branches/api/nearby?lat=29.8706&lng=121.5528&k=2&kind=self_service")
    assert {b["kind"] for b in body["branches"]} == {"self_service"}
    _, body = get(client, "/branches/api/nearby?lat=29.8706&lng=121.5528&k=5&open_now=true")
    assert body["branches"] and all(b["status"]["state"] == "open" for b in body["branches"])
    assert {b["kind"] for b in body["branches"]} == {"self_service"}  # only machines work through lunch


@pytest.mark.parametrize(("query", "expected"), [
    ("lat=91&lng=121.5", {"lat": "out_of_range"}),
    ("lat=29.8&lng=-181", {"lng": "out_of_range"}),
    ("lng=121.5", {"lat": "required"}),
    ("lat=abc&lng=nan", {"lat": "invalid_number", "lng": "out_of_range"}),
    ("lat=29.8&lng=121.5&k=0", {"k": "out_of_range"}),
    ("lat=29.8&lng=121.5&k=21", {"k": "out_of_range"}),
    ("lat=29.8&lng=121.5&k=2.5", {"k": "out_of_range"}),
    ("lat=29.8&lng=121.5&service=gold", {"service": "unknown_service"}),
    ("lat=29.8&lng=121.5&kind=bank", {"kind": "unknown_kind"}),
    ("lat=29.8&lng=121.5&open_now=maybe", {"open_now": "invalid_bool"}),
    ("lat=95&lng=200&k=50&service=x", {"lat": "out_of_range", "lng": "out_of_range", "k": "out_of_range",
                                       "service": "unknown_service"}),
])
def test_nearby_rejects_bad_input_field_by_field(client, query, expected):
    status, body = get(client, f"/branches/api/nearby?{query}")
    assert status == 400 and body["code"] == "invalid_input" and fields(body) == expected


def test_search_by_district_street_and_name(client):
    _, body = get(client, "/branches/api/search?q=%E6%B1%9F%E5%8C%97")  # 江北
    assert body["branches"] and {b["district"] for b in body["branches"]} == {"江北区"}
    _, body = get(client, "/branches/api/search?q=%E9%BC%93%E6%A5%BC")  # 鼓楼
    assert [b["id"] for b in body["branches"]] == ["HS02"]
    status, body = get(client, "/branches/api/search?q=")
    assert status == 400 and fields(body) == {"q": "required"}
    status, body = get(client, "/branches/api/search?q=" + "a" * 51)
    assert status == 400 and fields(body) == {"q": "too_long"}


def test_one_branch_by_id(client):
    status, body = get(client, "/branches/api/branch/HS01")
    assert status == 200 and body["name"] == "甬城银行天一广场支行" and body["hours"]["mon"]
    assert get(client, "/branches/api/branch/NOPE")[0] == 404
    assert get(client, "/branches/api/branch/cell%23wtq3v")[0] == 404  # index entries are not branches


def test_branch_page(client, frozen_clock):
    frozen_clock(MONDAY_10AM)
    status, html = get(client, "/branches/view/HS01")
    assert status == 200
    assert "甬城银行天一广场支行" in html and 'href="tel:0574-' in html
    assert '<div class="weui-cell today">' in html and "3月2日 周一<div class=\"note\" data-today>今天</div>" in html
    assert "外汇" in html and "保管箱" in html
    assert 'id="navigate"' in html and "uri.amap.com/marker?position=121.5528,29.8706" in html
    assert "wx.openLocation" in html and "营业中，12:00结束" in html


def test_branch_page_shows_holidays_and_404s_as_a_page(client, frozen_clock):
    frozen_clock(datetime(2026, 9, 29, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    _, html = get(client, "/branches/view/HS03")
    assert "国庆节休息" in html
    status, html = get(client, "/branches/view/NOPE")
    assert status == 404 and "<html" in html


def test_list_page(client):
    status, html = get(client, "/branches/search?q=%E9%84%9E%E5%B7%9E")  # 鄞州
    assert status == 200 and html.count('href="/branches/view/YZ') == 10
    _, html = get(client, "/branches/search?q=zzzz")
    assert 'id="empty"' in html


def test_jssdk_only_signs_our_pages(client):
    status, body = get(client, "/branches/api/jssdk?url=https%3A%2F%2Fevil.example%2Fbranches%2Fview%2FHS01")
    assert status == 400 and fields(body) == {"url": "invalid_url"}


def test_names_are_escaped(aws):
    from functions.branch_lookup.app import app
    from infra.local.demo import branch_lookup

    branch_lookup.load([make_branch("X1", 29.87, 121.55, name="<script>alert(1)</script>")])
    with Client(app) as test_client:
        html = test_client.http.get("/branches/view/X1").body.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


def test_query_and_intent_handlers_are_wired():
    from infra.local import slsconfig

    config = slsconfig.load("local")
    assert config.functions["branchLookupQuery"].handler == "functions/branch_lookup/app.query"
    assert config.functions["branchLookupIntent"].handler == "functions/branch_lookup/replies.intent"

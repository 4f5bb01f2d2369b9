"""The risk-tolerance assessment through the pages: the customer's level and when it
expires, the daily limit (also under concurrency), the bank's in-branch setting, refusals
by question; nothing is recorded when refused."""
from __future__ import annotations

import re
import threading
from datetime import timedelta
from urllib.parse import urlencode

from functions.products import actions, store
from tests.products.conftest import MONDAY_10AM
from tests.sessions import customer

ALL_THREES = {f"q{n}": "3" for n in range(1, 11)}  # 30 points: C3


def post(client, openid: str, fields: dict, path: str = "/products/assessment"):
    headers = customer(openid, form=True)
    return client.http.post(path, body=urlencode(fields), headers=headers)


def records(openid: str) -> list[store.Assessment]:
    return list(store.Assessment.query(store.user_pk(openid)))


def test_the_page_needs_a_session(world, client):
    got = client.http.get("/products/assessment")
    assert got.status_code == 302 and "open.weixin.qq.com" in got.headers["Location"]


def test_assessing_records_the_level_and_the_page_says_when_it_expires(world, client):
    first = client.http.get("/products/assessment", headers=customer("o1")).body.decode()
    assert "data-level" not in first and first.count('type="radio"') == 50 and "提交评估" in first
    done = post(client, "o1", ALL_THREES)
    assert done.status_code == 302 and done.headers["Location"].endswith("/products/assessment?notice=assessed")
    page = client.http.get("/products/assessment?notice=assessed", headers=customer("o1")).body.decode()
    assert 'data-level="C3"' in page and "C3 平衡型" in page
    assert "2027年11月30日 周二 10:00" in page and "重新评估" in page  # 12 months on, in Asia/Shanghai
    [record] = records("o1")
    assert (record.version, record.score, record.level, record.answers["q1"]) == ("2026.1", 30, "C3", "3")


def test_the_validity_is_a_bank_setting_and_an_expired_level_is_said(world, client, setting, frozen_clock):
    setting("WEALTH_ASSESSMENT_MONTHS", "1")
    post(client, "o1", ALL_THREES)
    soon = client.http.get("/products/assessment", headers=customer("o1")).body.decode()
    assert "12月30日 周三 10:00" in soon and "data-expiring" in soon
    frozen_clock(MONDAY_10AM + timedelta(days=31))
    page = client.http.get("/products/assessment", headers=customer("o1")).body.decode()
    assert "data-expired" in page and "（已过期）" in page
    assert not actions.standing("o1").valid and actions.standing("o1").level == "C3"


def test_refusals_name_each_question_and_record_nothing(world, client):
    answers = {**ALL_THREES, "q2": "9"}
    del answers["q7"]
    got = post(client, "o1", answers)
    html = got.body.decode()
    assert got.status_code == 400
    assert re.findall(r'data-field="(q\d+)"', html) == ["q2", "q7"]
    assert 'name="q1" value="3" checked' in html  # the answers given are kept on the page
    assert records("o1") == []
    assert post(client, "o1", {**ALL_THREES, "q3": "x" * 3}).status_code == 400  # longer than a field takes


def test_re_assessment_is_limited_per_day(world, client, setting, frozen_clock):
    setting("WEALTH_ASSESSMENTS_PER_DAY", "2")
    assert post(client, "o1", ALL_THREES).status_code == 302
    assert post(client, "o1", {**ALL_THREES, "q1": "5"}).status_code == 302
    third = post(client, "o1", {**ALL_THREES, "q1": "1"})
    assert third.status_code == 429 and "每天最多评估2次" in third.body.decode()
    assert len(records("o1")) == 2 and actions.standing("o1").level == "C3"
    assert post(client, "o2", ALL_THREES).status_code == 302  # another customer's own count
    frozen_clock(MONDAY_10AM + timedelta(hours=14))  # Tuesday 00:00 in Ningbo
    assert post(client, "o1", {**ALL_THREES, "q1": "1"}).status_code == 302


def test_the_daily_limit_holds_under_concurrent_submissions(world, setting, atomic_moto):
    setting("WEALTH_ASSESSMENTS_PER_DAY", "2")
    atomic_moto.gate(6)
    outcomes: list[str] = []

    def submit():
        try:
            actions.assess("o1", dict(ALL_THREES))
            outcomes.append("recorded")
        except Exception as error:  # noqa: BLE001 - the refusal is what is counted
            outcomes.append(getattr(error, "code", repr(error)))

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["assessment_limit"] * 4 + ["recorded"] * 2
    assert len(records("o1")) == 2


def test_where_the_bank_says_so_a_first_assessment_is_done_at_a_branch(world, client, setting):
    setting("WEALTH_FIRST_ASSESSMENT", "branch")
    page = client.http.get("/products/assessment", headers=customer("o1")).body.decode()
    assert "data-in-branch" in page and 'type="radio"' not in page
    assert re.search(r'href="/booking\?service=wealth"[^>]*data-book-wealth', page)
    refused = post(client, "o1", ALL_THREES)
    assert refused.status_code == 403 and records("o1") == []
    store.record_assessment(store.Assessment(  # as a branch records it
        store.user_pk("o1"), "ASSESSMENT#2026-11-01T02:00:00Z#branch01", openid="o1", version="2026.1",
        answers=ALL_THREES, score=30, level="C3", assessed_at="2026-11-01T02:00:00Z",
        expires="2027-11-01T02:00:00Z"), MONDAY_10AM.date(), 2)
    assert post(client, "o1", {**ALL_THREES, "q1": "5"}).status_code == 302  # re-assessment: online


def test_posting_without_the_csrf_token_is_refused(world, client):
    headers = customer("o1", form=True, csrf=False)
    got = client.http.post("/products/assessment", body=urlencode(ALL_THREES), headers=headers)
    assert got.status_code == 403 and records("o1") == []

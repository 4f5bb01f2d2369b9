"""The simulator's backend against the real local stack: what it pushes goes through the
webhook (both modes), what core banking emits reaches the outbox, and WeChat's delivery
reports reach notify."""
from __future__ import annotations

import json

import pytest
import requests

from functions.common import clock
from tests.browser.test_journeys import _core_banking_customer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("browser")]


@pytest.fixture
def sim(stack, clock_at):
    base = f"{stack.url}/_local/simulator/api/"
    session = requests.Session()

    def call(path, body=None, status=200):
        res = session.post(base + path, json=body, timeout=20) if body is not None else session.get(
            base + path, timeout=20)
        assert res.status_code == status, res.text
        return res.json()

    return call


def follow(sim, nickname="测试") -> str:
    created = sim("users", {"nickname": nickname})
    assert created["exchange"]["reply"]["type"] == "text"
    assert "感谢关注" in created["exchange"]["reply"]["text"]  # the webhook's welcome
    return created["user"]["openid"]


@pytest.mark.parametrize("encrypt", [True, False])
def test_messages_go_through_the_webhook_in_both_modes(sim, encrypt):
    openid = follow(sim)
    out = sim("send", {"openid": openid, "type": "location", "lat": 29.8706, "lng": 121.5528, "label": "天一广场",
                       "encrypt": encrypt})
    assert out["status"] == 200 and out["encrypted"] is encrypt
    assert ("<Encrypt>" in out["reply_xml"]) is False  # the page gets the decrypted reply
    assert out["reply"]["type"] == "text" and out["reply"]["text"].startswith("离您最近的网点")
    assert out["reply"]["text"].count("<a href=") == 3

    click = sim("send", {"openid": openid, "type": "click", "key": "LOAN_APPLY", "encrypt": encrypt})
    assert click["reply"]["type"] == "news" and "/loans/apply" in click["reply"]["articles"][0]["url"]


def test_bad_requests_are_refused_without_reaching_the_webhook(sim):
    openid = follow(sim)
    sim("send", {"openid": "nobody", "type": "text", "content": "hi"}, status=400)
    sim("send", {"openid": openid, "type": "text", "content": "  "}, status=400)
    sim("send", {"openid": openid, "type": "location", "lat": 91, "lng": 121}, status=400)
    sim("send", {"openid": openid, "type": "voice"}, status=400)
    sim("users", {"openid": "bad id!"}, status=400)
    sim("login", {"openid": "oUnknown000"}, status=404)
    sim("bank", {"kind": "transaction", "customer_id": "C1", "card_last4": "12a4", "amount_yuan": "1"}, status=400)
    sim("bank", {"kind": "transaction", "customer_id": "C1", "card_last4": "1234", "amount_yuan": "1.001"},
        status=400)
    sim("bank", {"kind": "transaction", "customer_id": "C1", "card_last4": "1234", "amount_yuan": "-5"}, status=400)


def test_login_picks_the_openid_for_oauth_and_drops_the_old_session(stack, sim):
    openid = follow(sim, "切换")
    res = requests.post(f"{stack.url}/_local/simulator/api/login", json={"openid": openid}, timeout=10)
    cookies = res.headers.get("Set-Cookie", "")
    assert f"sim_openid={openid}" in cookies and "wxsession=;" in cookies


def test_the_page_shows_the_menu_that_is_pushed_to_wechat(sim):
    from infra.cli.menu import MENU

    state = sim("state")
    assert state["menu"] == json.loads(MENU.read_text(encoding="utf-8"))
    assert any(b.get("type") == "location_select" for b in state["menu"]["button"])
    assert {p["name"] for p in state["places"]} >= {"天一广场", "鼓楼", "老外滩"}


def _bound_user(sim, nickname: str) -> tuple[str, dict]:
    """A follower with a core-banking card already bound (set up directly in notify's store)."""
    from functions.notify import corebank, store

    openid = follow(sim, nickname)
    card, _phone = _core_banking_customer()
    found = corebank.find_card(corebank.card_hash(card))
    assert found is not None
    store.bind(openid, found.customer_id, found.card_hash, found.last4)
    return openid, {"customer_id": found.customer_id, "card_last4": found.last4}


def test_card_alerts_reach_the_outbox_and_delivery_reports_reach_notify(stack, sim):
    from functions.notify import actions, corebank

    openid, card = _bound_user(sim, "提醒")
    assert sim(f"bank?openid={openid}")["cards"] == [{**card, "label": f"····{card['card_last4']}"}]

    event = sim("bank", {"kind": "transaction", **card, "amount_yuan": "1,200", "merchant": "鼓楼书店"})["event"]
    assert event["type"] == "card_transaction" and event["data"]["amount_fen"] == 120000
    stack.drain_queues()

    box = sim(f"outbox?openid={openid}")
    assert [(t["title"], t["status"]) for t in box["templates"]] == [("交易提醒", "success")]
    assert any("¥1,200.00" in m["text"] and f"····{card['card_last4']}" in m["text"] for m in box["sms"])
    phone = corebank.phone_of(card["customer_id"]) or ""
    assert {m["phone"] for m in box["sms"]} == {f"{phone[-11:-8]}****{phone[-4:]}"}  # shown masked
    other = follow(sim, "旁人")  # another user's outbox holds none of it
    assert sim(f"outbox?openid={other}") == {"templates": [], "custom": [], "sms": []}
    # reading the outbox played WeChat's TEMPLATESENDJOBFINISH report through the webhook
    assert [m["status"] for m in actions.messages(openid)] == ["已送达"]


def test_two_delivery_reports_in_the_same_second(stack, sim):
    from functions.notify import actions
    from infra.local.simulator import wechat_side

    openid, card = _bound_user(sim, "账单")
    sim("bank", {"kind": "transaction", **card, "amount_yuan": "88"})
    sim("bank", {"kind": "statement", **card, "amount_yuan": "3,456.78"})
    stack.drain_queues()
    sent = stack.fake_wechat.sent(openid)
    assert len(sent) == 2
    creds, now = wechat_side.Credentials.from_environment(), clock.epoch()
    for message in sent:  # as WeChat may: two reports for one user within one second
        xml = wechat_side.template_finished(openid, message.msgid, "success", now=now)
        assert wechat_side.push(f"{stack.url}/wechat", xml, openid, creds).status == 200
    assert [m["status"] for m in actions.messages(openid)] == ["已送达", "已送达"]


def test_the_page_is_served_on_the_stacks_own_origin(stack):
    page = f"{stack.url}/_local/simulator/"
    assert requests.get(page, timeout=10).headers["Content-Type"].startswith("text/html")
    moved = requests.get(f"{stack.url}/_local/simulator", allow_redirects=False, timeout=10)
    assert moved.status_code == 308 and moved.headers["Location"].endswith("/_local/simulator/")
    # opened as localhost, the page moves to PUBLIC_BASE_URL's host, where OAuth and the
    # H5 pages' cookies live (the frame shows same-origin pages only)
    aliased = requests.get(page, headers={"Host": f"localhost:{stack.port}"}, allow_redirects=False, timeout=10)
    assert aliased.status_code == 302 and aliased.headers["Location"] == page

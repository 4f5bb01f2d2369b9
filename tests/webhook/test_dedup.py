"""WeChat's retries: one processing per message, the same reply to every copy, within the
deadline; a slow or failing feature gets the user a polite text, never an error."""
from __future__ import annotations

import threading
from urllib.parse import parse_qsl, urlsplit

import pytest

from functions.common import config
from functions.common.wechat import protocol
from functions.webhook import dedup, dispatch, routes
from tests.aws_clients import clients
from tests.webhook import wechat_side as wx
from tests.webhook.conftest import state_items

XML = {"Content-Type": "text/xml"}


def send(webhook, fields, mode="plain"):
    path, body = wx.request(fields, mode)
    return webhook.http.post(path, headers=XML, body=body)


def another_instance_claims(fields: dict, lease_s: float) -> None:
    """Another instance claims the message, with a lease of `lease_s` (negative: it ran out)."""
    s = config.settings()
    dedup.DeliveryStore(s.table("wechat_state"), lease_s, s.timestamp_window_s).claim(
        protocol.dedup_key(wx.inbound(fields)))


def _content(body, mode: str) -> tuple[str, str]:
    reply = wx.read_reply(body, mode)
    return (reply["MsgType"], reply.get("Content", "")) if reply else ("success", "")


@pytest.fixture
def deadline(monkeypatch):
    """Set the intent deadline (seconds) for one test."""

    def set_deadline(seconds: float) -> None:
        monkeypatch.setenv("INTENT_DEADLINE_S", str(seconds))
        config.reset()

    return set_deadline


@pytest.mark.parametrize("mode", wx.MODES)
def test_sequential_retries_get_the_first_reply(webhook, invocations, mode):
    path, body = wx.request(wx.msg("text", Content="我的预约"), mode)
    first = webhook.http.post(path, headers=XML, body=body)
    # WeChat retries with the same query string and body
    again = [webhook.http.post(path, headers=XML, body=body) for _ in range(2)]
    assert invocations.keys() == ["bookingIntent"]
    assert all(_content(r.body, mode) == _content(first.body, mode) for r in again)
    assert _content(first.body, mode)[0] == "text"
    [item] = [i for i in state_items() if i["pk"].startswith("msg#")]
    assert item["status"] == "done" and int(item["expires_at"]) > 0


def test_a_new_message_from_the_same_user_is_processed(webhook, invocations):
    openid = wx.new_openid()
    for text in ("我的预约", "我的预约"):
        send(webhook, wx.msg("text", openid, Content=text))
    assert invocations.keys() == ["bookingIntent", "bookingIntent"]


def test_events_are_deduplicated_on_sender_time_event_and_key(webhook, invocations):
    click = wx.event("CLICK", EventKey="MY_BOOKINGS")
    other_key = {**click, "EventKey": "BILLS"}
    for fields in (click, click, other_key, other_key):
        send(webhook, fields)
    assert invocations.keys() == ["bookingIntent", "notifyIntent"]


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_concurrent_copies_are_processed_once(aws, invocations, mode):
    """Copies arriving at once (other instances, simulated by threads) wait for the first."""
    invocations.delay_s = 0.5
    path, body = wx.request(wx.msg("text", Content="我的预约"), mode)
    params = dict(parse_qsl(urlsplit(path).query))
    replies: list[tuple[str, str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        try:
            barrier.wait()
            text, _ = dispatch.receive(params, body)
            replies.append(_content(text, mode))
        except BaseException as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert invocations.keys() == ["bookingIntent"]
    assert len(replies) == 4 and len(set(replies)) == 1
    assert replies[0][1] != routes.fallback_text()


def test_slow_feature_gets_the_fallback_and_retries_get_it_too(webhook, invocations, deadline):
    deadline(2.0)
    invocations.hang = True
    path, body = wx.request(wx.msg("text", Content="我的预约"), "plain")
    first = webhook.http.post(path, headers=XML, body=body)
    assert first.status_code == 200
    assert _content(first.body, "plain") == ("text", routes.fallback_text())
    assert _content(webhook.http.post(path, headers=XML, body=body).body, "plain") == ("text", routes.fallback_text())
    assert invocations.keys() == ["bookingIntent"]


def test_failing_feature_gets_the_fallback(webhook, invocations):
    invocations.fail = True
    res = send(webhook, wx.msg("text", Content="贷款"))
    assert res.status_code == 200
    assert _content(res.body, "plain") == ("text", routes.fallback_text())


def test_failing_feature_on_a_silent_event_still_answers_success(webhook, invocations):
    invocations.fail = True
    res = send(webhook, wx.documented()["LOCATION"])
    assert (res.status_code, res.body) == (200, b"success")
    assert invocations.keys() == ["branchLookupIntent"]


def test_copy_waits_for_a_live_claim_then_falls_back_without_processing(webhook, invocations, deadline):
    deadline(0.3)
    fields = wx.msg("text", Content="我的预约")
    another_instance_claims(fields, lease_s=60)
    res = send(webhook, fields)
    assert _content(res.body, "plain") == ("text", routes.fallback_text())
    assert invocations.calls == []


def test_copy_takes_over_from_a_crashed_instance(webhook, invocations):
    fields = wx.msg("text", Content="我的预约")
    another_instance_claims(fields, lease_s=-1)  # and crashed: its lease ran out unanswered
    res = send(webhook, fields)
    assert invocations.keys() == ["bookingIntent"]
    assert _content(res.body, "plain")[1] != routes.fallback_text()


def test_state_table_down_gets_the_fallback_and_no_processing(webhook, invocations):
    clients.client("dynamodb").delete_table(TableName=config.settings().table("wechat_state"))
    res = send(webhook, wx.msg("text", Content="我的预约"))
    assert res.status_code == 200
    assert _content(res.body, "plain") == ("text", routes.fallback_text())
    assert invocations.calls == []


@pytest.mark.parametrize("account", ["compatible", "safe"])
def test_own_answers_claim_nothing(webhook, invocations, monkeypatch, account):
    """Only their nonces are kept, where the account's signature leaves the body open."""
    monkeypatch.setenv("WECHAT_MESSAGE_MODE", account)
    config.reset()
    for fields in (wx.event("subscribe"), wx.msg("text", Content="帮助"), wx.msg("image", PicUrl="u", MediaId="m")):
        assert send(webhook, fields, "safe").status_code == 200
    assert invocations.calls == []
    assert [i["pk"].split("#")[0] for i in state_items()] == (["nonce"] * 3 if account != "safe" else [])


def test_silent_event_stuck_behind_a_live_claim_still_answers_success(webhook, invocations, deadline):
    deadline(0.3)
    fields = wx.documented()["LOCATION"]
    another_instance_claims(fields, lease_s=60)
    res = send(webhook, fields)
    assert (res.status_code, res.body) == (200, b"success")
    assert invocations.calls == []

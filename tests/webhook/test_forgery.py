"""Forging WeChat with what an attacker can see: a captured query string under another
body, another sender's MsgId, a plain message to an account in safe mode."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from functions.common import config
from functions.webhook import routes
from tests.webhook import wechat_side as wx
from tests.webhook.conftest import state_items

XML = {"Content-Type": "text/xml"}


def post(webhook, path: str, body: bytes):
    return webhook.http.post(path, headers=XML, body=body)


def _reply(res, mode: str = "plain") -> str:
    reply = wx.read_reply(res.body, mode)
    return reply.get("Content", "") if reply else ""


def _forged(victim: str) -> bytes:
    """What the attacker puts under a captured signature: the victim asking for a bill."""
    return wx.message_xml(wx.msg("text", victim, Content="账单")).encode()


@pytest.mark.parametrize("captured", ["帮助", "我的预约"])
def test_a_body_swapped_under_a_captured_plain_signature_is_refused(webhook, invocations, captured):
    """The plain signature covers token, timestamp and nonce, not the body: the first body a
    (timestamp, nonce) came with is the only one it may carry within the window."""
    path, body = wx.request(wx.msg("text", Content=captured))
    first = post(webhook, path, body)
    assert first.status_code == 200
    called, stored = list(invocations.calls), state_items()
    forged = post(webhook, path, _forged(wx.new_openid()))
    assert (forged.status_code, forged.body) == (403, b"nonce_reused")
    assert invocations.calls == called and state_items() == stored  # not processed, nothing written
    again = post(webhook, path, body)  # the same body again is WeChat's retry: the first reply
    assert (again.status_code, _reply(again)) == (200, _reply(first))
    assert invocations.calls == called


def test_a_captured_encrypted_request_cannot_carry_a_plain_body(webhook, invocations):
    """Stripping `encrypt_type` and `msg_signature` leaves a valid plain signature."""
    path, body = wx.request(wx.msg("text", Content="我的预约"), "compatible")
    assert post(webhook, path, body).status_code == 200
    query = {k: v for k, v in parse_qsl(urlsplit(path).query) if k not in ("encrypt_type", "msg_signature")}
    forged = post(webhook, "/wechat?" + urlencode(query), _forged(wx.new_openid()))
    assert forged.status_code == 403
    assert invocations.keys() == ["bookingIntent"]


def test_a_captured_verification_cannot_carry_a_body(webhook, invocations):
    """WeChat's GET check is signed the same way; its query string is spent on the GET."""
    path, _ = wx.request(wx.msg("text", Content="x"))
    query = dict(parse_qsl(urlsplit(path).query), echostr="4711")
    assert webhook.http.get("/wechat?" + urlencode(query)).body == b"4711"
    forged = post(webhook, "/wechat?" + urlencode(query), _forged(wx.new_openid()))
    assert forged.status_code == 403 and invocations.calls == []


def test_two_senders_with_one_msg_id_get_their_own_replies(webhook, invocations):
    """MsgIds are WeChat's, not unique across senders: the de-duplication key names the
    sender, so nobody gets the reply cached for someone else."""
    alice = wx.msg("text", Content="我的预约")
    mallory = wx.msg("text", Content="账单")
    mallory["MsgId"] = alice["MsgId"]
    to_alice = post(webhook, *wx.request(alice))
    to_mallory = post(webhook, *wx.request(mallory))
    assert invocations.keys() == ["bookingIntent", "notifyIntent"]
    assert [sent["openid"] for _, sent in invocations.calls] == [alice["FromUserName"], mallory["FromUserName"]]
    assert _reply(to_mallory) != _reply(to_alice)
    assert wx.read_reply(to_mallory.body, "plain")["ToUserName"] == mallory["FromUserName"]


@pytest.fixture
def safe_account(monkeypatch):
    monkeypatch.setenv("WECHAT_MESSAGE_MODE", "safe")
    config.reset()


def test_a_plain_message_to_a_safe_mode_account_is_refused_unread(webhook, invocations, safe_account):
    for message in (wx.msg("text", Content="账单"), wx.documented()["unsubscribe"]):
        res = post(webhook, *wx.request(message))
        assert (res.status_code, res.body) == (403, b"encryption_required")
    assert invocations.calls == [] and state_items() == []
    for mode in ("compatible", "safe"):  # what WeChat sends in safe mode is answered
        res = post(webhook, *wx.request(wx.msg("text", Content="帮助"), mode))
        assert _reply(res, mode) == routes.help_text()
    assert state_items() == []  # a signed body needs no nonce record


@pytest.fixture
def safe_stack(monkeypatch):
    """The local stack as `make run` starts it with WECHAT_MESSAGE_MODE=safe in the shell."""
    from infra.local.stack import LocalStack

    monkeypatch.setenv("WECHAT_MESSAGE_MODE", "safe")
    with LocalStack(port=0, demo=False, schedules=False, queues=False, inherit_env=True) as stack:
        yield stack


def test_a_plain_message_to_a_safe_mode_stack_is_refused_over_http(safe_stack):
    assert safe_stack.environment["WECHAT_MESSAGE_MODE"] == "safe"
    path, body = wx.request(wx.msg("text", Content="账单"))
    res = requests.post(safe_stack.url + path, data=body, headers=XML, timeout=20)
    assert (res.status_code, res.text) == (403, "encryption_required")
    path, body = wx.request(wx.msg("text", Content="帮助"), "safe")
    res = requests.post(safe_stack.url + path, data=body, headers=XML, timeout=20)
    assert wx.read_reply(res.content, "safe")["Content"] == routes.help_text()

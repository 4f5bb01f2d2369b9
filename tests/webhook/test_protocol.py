"""POST/GET /wechat as WeChat drives it: every documented message and event in plain,
compatible and safe mode, and everything WeChat would never send refused with a 4xx."""
from __future__ import annotations

import os
import time
from urllib.parse import urlencode

import pytest

from functions.common import intents
from functions.webhook import phrases, routes
from tests.webhook import wechat_side as wx
from tests.webhook.conftest import state_items

XML = {"Content-Type": "text/xml"}


def post(webhook, fields, mode="plain", **kw):
    """POST `fields` (a message dict or raw XML) as WeChat would in `mode`."""
    path, body = wx.request(fields, mode, **kw)
    return webhook.http.post(path, headers=XML, body=body)

# What each documented type gets: a feature's intent, the webhook's own text, or nothing.
EXPECTED = {
    "text": ("branchLookupIntent", "text"),
    "image": (None, "help"),
    "voice": (None, "help"),
    "video": (None, "help"),
    "shortvideo": (None, "help"),
    "location": ("branchLookupIntent", "text"),
    "link": (None, "help"),
    "subscribe": (None, "welcome"),
    "subscribe_qrscene": (None, "welcome"),
    "unsubscribe": ("notifyIntent", None),
    "SCAN": (None, None),
    "LOCATION": ("branchLookupIntent", None),
    "CLICK": ("bookingIntent", "text"),
    "CLICK_unknown": (None, "help"),
    "VIEW": (None, None),
    "location_select": ("branchLookupIntent", "text"),
    "scancode_push": (None, None),
    "scancode_waitmsg": (None, None),
    "pic_sysphoto": (None, None),
    "pic_photo_or_album": (None, None),
    "pic_weixin": (None, None),
    "TEMPLATESENDJOBFINISH": ("notifyIntent", None),
    "unknown_event": (None, None),
    "unknown_message": (None, "help"),
}


def test_every_documented_type_is_listed():
    assert set(wx.documented()) == set(EXPECTED)


@pytest.mark.parametrize("mode", wx.MODES)
def test_documented_messages_in_every_mode(webhook, invocations, mode):
    for kind, fields in wx.documented().items():
        invocations.calls.clear()
        res = post(webhook, fields, mode)
        assert res.status_code == 200, (kind, res.body)
        _check_reply(kind, fields, wx.read_reply(res.body, mode), invocations)


def _check_reply(kind: str, fields: dict, reply: dict | None, invocations) -> None:
    function, expected = EXPECTED[kind]
    assert invocations.keys() == ([function] if function else []), kind
    if function:
        sent = invocations.calls[0][1]
        assert sent["v"] == intents.VERSION and sent["openid"] == fields["FromUserName"], kind
    if expected is None:
        assert reply is None, kind
        return
    assert reply["ToUserName"] == fields["FromUserName"], kind
    assert reply["FromUserName"] == wx.ACCOUNT, kind
    assert reply["MsgType"] in ("text", "news"), kind
    content = reply.get("Content", "")
    if expected == "help":
        assert content == routes.help_text(), kind
    elif expected == "welcome":
        assert content == routes.welcome_text(), kind
    else:
        assert content or reply.get("Articles"), kind
        assert content != routes.fallback_text(), kind


@pytest.mark.parametrize("mode", wx.MODES)
def test_reply_text_is_signed_encrypted_and_fits(webhook, mode):
    path, body = wx.request(wx.msg("text", Content="帮助"), mode)
    res = webhook.http.post(path, headers=XML, body=body)
    reply = wx.read_reply(res.body, mode)
    assert reply["Content"] == routes.help_text()
    assert len(reply["Content"].encode()) <= 2048
    assert res.headers["Content-Type"].startswith("application/xml")


def test_location_message_becomes_a_location_intent(webhook, invocations):
    fields = wx.documented()["location"]
    post(webhook, fields)
    [(key, sent)] = invocations.calls
    assert sent["kind"] == "location"
    assert sent["location"]["lat"] == pytest.approx(29.8683)
    assert sent["location"]["lng"] == pytest.approx(121.5440)
    assert sent["msg_id"] == str(fields["MsgId"])


def test_location_report_and_delivery_report_intents(webhook, invocations):
    report = wx.documented()["LOCATION"]
    finished = wx.documented()["TEMPLATESENDJOBFINISH"]
    for fields in (report, finished):
        res = post(webhook, fields)
        assert res.body == b"success"
    kinds = {sent["kind"]: sent for _, sent in invocations.calls}
    assert kinds["location_report"]["location"]["precision"] == pytest.approx(65.0)
    assert kinds["delivery_report"] == {**kinds["delivery_report"], "template_msg_id": "200163836",
                                        "status": "success"}


KEYWORDS = [
    ("附近网点", "branchLookupIntent", intents.BRANCH_NEARBY),
    ("ATM", "branchLookupIntent", intents.BRANCH_NEARBY),
    ("我的预约", "bookingIntent", intents.BOOKING_MINE),
    ("预约", "bookingIntent", intents.BOOKING_BOOK),
    ("贷款", "loanApplyIntent", intents.LOAN_APPLY),
    ("申请信用卡", "loanApplyIntent", intents.CARD_APPLY),
    ("我的申请", "loanApplyIntent", intents.LOAN_MINE),
    ("信用卡账单", "notifyIntent", intents.BILLS_SHOW),
    ("绑卡", "notifyIntent", intents.CARD_BIND),
    ("我的消息", "notifyIntent", intents.MESSAGES_SHOW),
    ("理财", "productsIntent", intents.WEALTH_CATALOGUE),
    ("有什么理财產品", "productsIntent", intents.WEALTH_CATALOGUE),
    ("预约理财经理", "bookingIntent", intents.BOOKING_BOOK),
    ("天一广场", "branchLookupIntent", intents.BRANCH_SEARCH),
]


def test_words_reach_the_owning_feature_as_an_intent_name(webhook, invocations):
    for text, function, name in KEYWORDS:
        invocations.calls.clear()
        post(webhook, wx.msg("text", Content=text))
        assert invocations.keys() == [function], text
        sent = invocations.calls[0][1]
        assert sent["kind"] == "ask" and sent["name"] == name, text
        assert "text" not in sent, text  # never the customer's words; a place to search, at most
        assert sent.get("query", "") == ("天一广场" if name == intents.BRANCH_SEARCH else ""), text


def test_menu_keys_reach_the_owning_feature(webhook, invocations):
    for key, name in sorted(phrases.MENU_KEYS.items()):
        invocations.calls.clear()
        post(webhook, wx.event("CLICK", EventKey=key))
        assert invocations.keys() == [phrases.FUNCTIONS[name]], key
        assert invocations.calls[0][1] == {**invocations.calls[0][1], "kind": "ask", "name": name}


def test_recognised_voice_is_understood_as_words(webhook, invocations):
    post(webhook, wx.msg("voice", MediaId="m", Format="amr", Recognition="我的预约。"))
    assert invocations.keys() == ["bookingIntent"]
    assert invocations.calls[0][1]["name"] == intents.BOOKING_MINE


def test_unknown_place_gets_the_help_text(webhook, invocations):
    res = post(webhook, wx.msg("text", Content="火星基地"))
    assert invocations.keys() == ["branchLookupIntent"]
    assert wx.read_reply(res.body, "plain")["Content"] == routes.help_text()


def test_echostr(webhook):
    ts, nonce = str(int(time.time())), "n0nce"
    sig = wx.signature(os.environ["WECHAT_TOKEN"], ts, nonce)
    res = webhook.http.get("/wechat?" + urlencode({"signature": sig, "timestamp": ts, "nonce": nonce,
                                                  "echostr": "4711"}))
    assert (res.status_code, res.body) == (200, b"4711")
    bad = webhook.http.get("/wechat?" + urlencode({"signature": "0" * 40, "timestamp": ts, "nonce": nonce,
                                                  "echostr": "4711"}))
    assert bad.status_code == 403 and b"4711" not in bad.body


# -- refused --------------------------------------------------------------------------


def refused(webhook, path: str, body: bytes, status: int | None = None) -> None:
    """POST something WeChat would never send: a 4xx, nothing stored, the app still answers."""
    before = state_items()
    res = webhook.http.post(path, headers=XML, body=body)
    assert 400 <= res.status_code < 500, (res.status_code, res.body)
    if status:
        assert res.status_code == status, res.body
    assert state_items() == before
    assert post(webhook, wx.msg("text", Content="帮助")).status_code == 200


@pytest.mark.parametrize("mode", wx.MODES)
def test_stale_and_future_timestamps(webhook, mode):
    for skew in (-360, 360, -86400, 10**9):
        path, body = wx.request(wx.msg("text", Content="帮助"), mode, timestamp=int(time.time()) + skew)
        refused(webhook, path, body, 403)


@pytest.mark.parametrize("mode", wx.MODES)
def test_wrong_signature(webhook, mode):
    path, body = wx.request(wx.msg("text", Content="帮助"), mode)
    forged = path.replace("signature=", "signature=f", 1)
    refused(webhook, forged, body, 403)


@pytest.mark.parametrize("mode", ["compatible", "safe"])
def test_wrong_msg_signature(webhook, mode):
    path, body = wx.request(wx.msg("text", Content="帮助"), mode)
    forged = path.replace("msg_signature=", "msg_signature=0", 1)
    refused(webhook, forged, body, 403)


def test_missing_query(webhook):
    refused(webhook, "/wechat", wx.message_xml(wx.msg("text", Content="x")).encode(), 403)


def test_ciphertext_for_another_app_is_refused(webhook, monkeypatch):
    from functions.common import config

    monkeypatch.setenv("WECHAT_APP_ID", "wxsomeoneelse00000")
    config.reset()
    path, body = wx.request(wx.msg("text", Content="帮助"), "safe")
    monkeypatch.undo()
    config.reset()
    refused(webhook, path, body, 400)


MALFORMED = {
    "empty": "",
    "not xml": "hello",
    "truncated": "<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUser",
    "wrong root": "<root><MsgType>text</MsgType></root>",
    "no MsgType": "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime></xml>",
    "no sender": "<xml><ToUserName>gh</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
    "bad time": "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>x</CreateTime>"
                "<MsgType>text</MsgType></xml>",
    "bad msgid": "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
                 "<MsgType>text</MsgType><Content>x</Content><MsgId>abc</MsgId></xml>",
    "doubled sender": "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><FromUserName>p</FromUserName>"
                      "<CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>",
    "bad location": "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
                    "<MsgType>location</MsgType><Location_X>north</Location_X><Location_Y>1</Location_Y>"
                    "<MsgId>2</MsgId></xml>",
}


@pytest.mark.parametrize("mode", wx.MODES)
def test_malformed_bodies(webhook, invocations, mode):
    for name, raw in MALFORMED.items():
        path, body = wx.request(raw, mode)
        refused(webhook, path, body, 400)
    assert invocations.calls == []


def test_body_not_utf8(webhook):
    path, _ = wx.request(wx.msg("text", Content="x"), "plain")
    refused(webhook, path, b"<xml><Content>\xff\xfe</Content></xml>", 400)


XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]><xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"
)


@pytest.mark.parametrize("mode", wx.MODES)
def test_entities_are_refused_before_parsing(webhook, invocations, mode):
    for attack in (XXE, BILLION_LAUGHS, XXE.replace("DOCTYPE", "doctype"), XXE.replace("<!DOCTYPE", "<! DOCTYPE")):
        path, body = wx.request(attack, mode)
        refused(webhook, path, body, 400)
    assert invocations.calls == []


@pytest.mark.parametrize("mode", wx.MODES)
def test_oversized_body(webhook, mode):
    from functions.common import config

    big = wx.msg("text", Content="网" * (config.settings().max_body_bytes // 2))
    path, body = wx.request(big, mode)
    refused(webhook, path, body, 413)


def test_unknown_encrypt_type(webhook):
    path, body = wx.request(wx.msg("text", Content="帮助"), "plain")
    refused(webhook, path + "&encrypt_type=rot13", body, 400)

"""functions.common.wechat.protocol without the webhook: replies as WeChat parses them,
limits, and messages turned into intents. wechatpy plays WeChat's side."""
from __future__ import annotations

import time

import pytest
import xmltodict
from hypothesis import given
from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto
from wechatpy.parser import parse_message

from functions.common.intents import Reply
from functions.common.wechat import protocol

TOKEN, AES_KEY, APPID = "tok", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wxapp"
WIRE = protocol.Protocol(TOKEN, AES_KEY, APPID, window_s=300, max_body_bytes=4096)
TEXT = ("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_1]]></FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[hi]]></Content><MsgId>42</MsgId></xml>")


def _params(**extra) -> dict:
    ts, nonce = str(int(time.time())), "abc"
    return {"timestamp": ts, "nonce": nonce, "signature": protocol.signature(TOKEN, ts, nonce), **extra}


@given(st.text(min_size=0, max_size=1500))
def test_fit_text_respects_the_byte_limit_and_characters(text):
    fitted = protocol.fit_text(text)
    assert len(fitted.encode()) <= protocol.TEXT_LIMIT_BYTES
    if len(text.encode()) <= protocol.TEXT_LIMIT_BYTES:
        assert fitted == text
    else:
        assert fitted.endswith("…") and text.startswith(fitted[:-1])


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=200))
def test_text_reply_survives_any_content(content):
    inbound = protocol.Inbound(parse_message(TEXT), False, TEXT, int(time.time()))
    xml = WIRE.render(inbound, Reply.say(content or "x"))
    parsed = xmltodict.parse(xml, strip_whitespace=False)["xml"]
    assert parsed["Content"] == (content or "x")
    assert (parsed["ToUserName"], parsed["FromUserName"]) == ("o_1", "gh_1")


def test_news_reply_has_one_article_and_is_sealed_for_safe_mode():
    params = _params(encrypt_type="aes")
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    envelope = xmltodict.parse(crypto.encrypt_message(TEXT, params["nonce"], params["timestamp"]))["xml"]
    params["msg_signature"] = envelope["MsgSignature"]
    body = f"<xml><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>".encode()
    inbound = WIRE.open(params, body)
    assert inbound.encrypted and inbound.message.content == "hi"
    sealed = WIRE.seal(inbound, WIRE.render(inbound, Reply.news("预约成功", "点击查看", "https://x/b/1")))
    out = xmltodict.parse(sealed)["xml"]
    plain = xmltodict.parse(crypto.decrypt_message(sealed, out["MsgSignature"], out["TimeStamp"], out["Nonce"]))
    assert plain["xml"]["ArticleCount"] == "1"
    assert plain["xml"]["Articles"]["item"]["Title"] == "预约成功"


def test_nothing_is_success_unencrypted():
    inbound = WIRE.open(_params(), TEXT.encode())
    assert WIRE.render(inbound, Reply.nothing()) == "success"
    assert WIRE.seal(protocol.Inbound(inbound.message, True, TEXT, inbound.received_at), "success") == "success"


@pytest.mark.parametrize(("params", "body", "error"), [
    (_params(), b"x" * 4097, protocol.BodyTooLarge),
    ({**_params(), "signature": "0" * 40}, TEXT.encode(), protocol.BadSignature),
    ({**_params(), "timestamp": "17e9"}, TEXT.encode(), protocol.BadSignature),
    (_params(), b"<!DOCTYPE x><xml/>", protocol.ForbiddenXml),
    (_params(), b"<xml><MsgType>text</MsgType></xml>", protocol.MalformedMessage),
    (_params(encrypt_type="aes", msg_signature="0" * 40), TEXT.encode(), protocol.MalformedMessage),
])
def test_refusals_are_typed(params, body, error):
    with pytest.raises(error) as info:
        WIRE.open(params, body)
    assert 400 <= info.value.status < 500


def test_stale_timestamp():
    ts, nonce = str(int(time.time()) - 301), "n"
    with pytest.raises(protocol.StaleRequest):
        WIRE.open({"timestamp": ts, "nonce": nonce, "signature": protocol.signature(TOKEN, ts, nonce)},
                  TEXT.encode())


def test_intents_and_dedup_keys():
    text = parse_message(TEXT)
    assert protocol.to_intent(text).to_dict() == {"kind": "text", "openid": "o_1", "msg_id": "42",
                                                  "create_time": 1700000000, "text": "hi", "v": 1}
    assert protocol.dedup_key(text) == "msg:42"
    event = "<MsgType>event</MsgType><Event>CLICK</Event><EventKey>BILLS</EventKey>"
    click = parse_message(TEXT.replace("<MsgType><![CDATA[text]]></MsgType>", event).replace("<MsgId>42</MsgId>", ""))
    assert protocol.to_intent(click).key == "BILLS"
    assert protocol.dedup_key(click) == "evt:o_1:1700000000:CLICK:BILLS"

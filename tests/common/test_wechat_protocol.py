"""functions.common.wechat.protocol without the webhook: the three message modes, replies as
WeChat parses them, limits. wechatpy plays WeChat's side."""
from __future__ import annotations

import time

import pytest
import xmltodict
from hypothesis import given
from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto

from functions.common.intents import Reply
from functions.common.wechat import protocol
from functions.common.wechat.crypto import signature

TOKEN, AES_KEY, APPID = "tok", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wxapp"
WIRE = protocol.Protocol(TOKEN, AES_KEY, APPID, "compatible", window_s=300, max_body_bytes=4096)
TEXT = ("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_1]]></FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[hi]]></Content><MsgId>42</MsgId></xml>")


def _params(**extra) -> dict:
    ts, nonce = str(int(time.time())), "abc"
    return {"timestamp": ts, "nonce": nonce, "signature": signature(TOKEN, ts, nonce), **extra}


def _encrypted(plain: str = TEXT) -> tuple[dict, bytes]:
    """A safe-mode request as WeChat sends it."""
    params = _params(encrypt_type="aes")
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    envelope = xmltodict.parse(crypto.encrypt_message(plain, params["nonce"], params["timestamp"]))["xml"]
    params["msg_signature"] = envelope["MsgSignature"]
    return params, f"<xml><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>".encode()


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
    inbound = WIRE.open(_params(), TEXT.encode())
    xml = WIRE.render(inbound, Reply.say(content or "x"))
    parsed = xmltodict.parse(xml, strip_whitespace=False)["xml"]
    assert parsed["Content"] == (content or "x")
    assert (parsed["ToUserName"], parsed["FromUserName"]) == ("o_1", "gh_1")


def test_a_sender_cannot_break_out_of_the_reply():
    from xml.sax.saxutils import escape

    sender = "o_1]]></ToUserName><Injected>1</Injected><ToUserName><![CDATA[x"
    hostile = TEXT.replace("<![CDATA[o_1]]>", escape(sender))
    inbound = WIRE.open(_params(), hostile.encode())
    parsed = xmltodict.parse(WIRE.render(inbound, Reply.say("hi")))["xml"]
    assert "Injected" not in parsed and parsed["ToUserName"] == sender


def test_news_reply_has_one_article_and_is_sealed_for_safe_mode():
    inbound = WIRE.open(*_encrypted())
    assert inbound.encrypted and inbound.fields["Content"] == "hi"
    sealed = WIRE.seal(inbound, WIRE.render(inbound, Reply.news("预约成功", "点击查看", "https://x/b/1")))
    out = xmltodict.parse(sealed)["xml"]
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    plain = xmltodict.parse(crypto.decrypt_message(sealed, out["MsgSignature"], out["TimeStamp"], out["Nonce"]))
    assert plain["xml"]["ArticleCount"] == "1"
    assert plain["xml"]["Articles"]["item"]["Title"] == "预约成功"


def test_nothing_is_success_unencrypted():
    inbound = WIRE.open(*_encrypted())
    assert WIRE.render(inbound, Reply.nothing()) == "success"
    assert WIRE.seal(inbound, "success") == "success"


# (what the query changes of a fresh, signed one; body; the refusal). The query is signed when
# the test runs, not when it is collected: a whole suite may take longer than the window.
@pytest.mark.parametrize(("changed", "body", "error"), [
    ({}, b"x" * 4097, protocol.BodyTooLarge),
    ({"signature": "0" * 40}, TEXT.encode(), protocol.BadSignature),
    ({"timestamp": "17e9"}, TEXT.encode(), protocol.BadSignature),
    ({}, b"<!DOCTYPE x><xml/>", protocol.ForbiddenXml),
    ({}, b"<xml><MsgType>text</MsgType></xml>", protocol.MalformedMessage),
    ({"encrypt_type": "aes", "msg_signature": "0" * 40}, TEXT.encode(), protocol.MalformedMessage),
])
def test_refusals_are_typed(changed, body, error):
    with pytest.raises(error) as info:
        WIRE.open(_params(**changed), body)
    assert 400 <= info.value.status < 500


def test_stale_timestamp():
    ts, nonce = str(int(time.time()) - 301), "n"
    with pytest.raises(protocol.StaleRequest):
        WIRE.open({"timestamp": ts, "nonce": nonce, "signature": signature(TOKEN, ts, nonce)}, TEXT.encode())


def test_safe_mode_refuses_a_plain_message_before_reading_it():
    safe = protocol.Protocol(TOKEN, AES_KEY, APPID, "safe")
    with pytest.raises(protocol.EncryptionRequired) as info:
        safe.open(_params(), TEXT.encode())
    assert info.value.status == 403
    with pytest.raises(protocol.EncryptionRequired):  # what it holds does not matter
        safe.open(_params(), b"<xml>not even a message")
    assert safe.open(*_encrypted()).fields["Content"] == "hi"


def test_only_the_decrypted_fields_count():
    params, body = _encrypted()
    beside = body.replace(b"<xml>", b"<xml><FromUserName>o_victim</FromUserName><Content>bills</Content>")
    inbound = WIRE.open(params, beside)
    assert (inbound.fields["FromUserName"], inbound.fields["Content"]) == ("o_1", "hi")


@pytest.mark.parametrize("mode", protocol.MODES)
def test_the_body_is_bound_to_the_nonce_unless_it_is_signed(mode):
    wire = protocol.Protocol(TOKEN, AES_KEY, APPID, mode)
    inbound = wire.open(*_encrypted())
    assert inbound.binds_body == (mode != "safe")
    assert (inbound.timestamp, inbound.nonce) == (_params()["timestamp"], "abc")


def test_a_plain_mode_account_needs_no_aes_key():
    plain = protocol.Protocol(TOKEN, None, APPID, "plain")
    assert plain.open(_params(), TEXT.encode()).fields["Content"] == "hi"
    with pytest.raises(protocol.MalformedMessage):
        plain.open(*_encrypted())


def test_an_unknown_mode_is_a_configuration_error():
    with pytest.raises(ValueError, match="WECHAT_MESSAGE_MODE"):
        protocol.Protocol(TOKEN, AES_KEY, APPID, "secure")

"""WeChat's side of the protocol, played with wechatpy: the messages and events WeChat
documents, signed and (in safe and compatible mode) encrypted as WeChat sends them, and
replies verified and decrypted as WeChat reads them."""
from __future__ import annotations

import os
import secrets
import time
from itertools import count
from urllib.parse import urlencode

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from functions.common import config
from functions.common.wechat.protocol import Inbound

MODES = ("plain", "compatible", "safe")
ACCOUNT = "gh_0123456789ab"
PICS = {"Count": 1, "PicList": {"item": {"PicMd5Sum": "1b5f7c23b5bf75682a53e7b6d163e185"}}}
_msg_ids = count(int(time.time()) * 1000 + os.getpid() * 7919 % 100000)
_times = count(int(time.time()) - 60)


def _credentials() -> tuple[str, str, str]:
    return os.environ["WECHAT_TOKEN"], os.environ["WECHAT_ENCODING_AES_KEY"], config.settings().wechat_app_id


def _cdata(value: object) -> str:
    return f"<![CDATA[{value}]]>" if isinstance(value, str) else str(value)


def _node(name: str, value: object) -> str:
    if isinstance(value, dict):
        inner = "".join(_node(k, v) for k, v in value.items())
        return f"<{name}>{inner}</{name}>"
    return f"<{name}>{_cdata(value)}</{name}>"


def message_xml(fields: dict) -> str:
    return "<xml>" + "".join(_node(k, v) for k, v in fields.items()) + "</xml>"


def inbound(fields: dict) -> Inbound:
    """A message as the webhook holds it once verified and parsed (for its de-duplication key)."""
    return Inbound(xmltodict.parse(message_xml(fields))["xml"], False, int(time.time()), "", "", "", False)


def new_openid() -> str:
    return "o_" + secrets.token_hex(13)


def msg(msg_type: str, openid: str | None = None, **fields) -> dict:
    """A user message (with a fresh MsgId)."""
    return {"ToUserName": ACCOUNT, "FromUserName": openid or new_openid(), "CreateTime": next(_times),
            "MsgType": msg_type, **fields, "MsgId": next(_msg_ids)}


def event(name: str, openid: str | None = None, **fields) -> dict:
    """An event (no MsgId; de-duplicated on sender, time, event and key)."""
    return {"ToUserName": ACCOUNT, "FromUserName": openid or new_openid(), "CreateTime": next(_times),
            "MsgType": "event", "Event": name, **fields}


def documented(openid: str | None = None) -> dict[str, dict]:
    """One of every message and event type WeChat documents for service accounts."""
    return {
        "text": msg("text", openid, Content="火星基地"),
        "image": msg("image", openid, PicUrl="http://mmbiz.qpic.cn/x.jpg", MediaId="media_1"),
        "voice": msg("voice", openid, MediaId="media_2", Format="amr"),
        "video": msg("video", openid, MediaId="media_3", ThumbMediaId="thumb_3"),
        "shortvideo": msg("shortvideo", openid, MediaId="media_4", ThumbMediaId="thumb_4"),
        "location": msg("location", openid, Location_X=29.8683, Location_Y=121.5440, Scale=15,
                        Label="浙江省宁波市海曙区中山西路"),
        "link": msg("link", openid, Title="甬城银行", Description="官网", Url="https://example-bank.cn"),
        "subscribe": event("subscribe", openid),
        "subscribe_qrscene": event("subscribe", openid, EventKey="qrscene_123", Ticket="TICKET"),
        "unsubscribe": event("unsubscribe", openid),
        "SCAN": event("SCAN", openid, EventKey="123", Ticket="TICKET"),
        "LOCATION": event("LOCATION", openid, Latitude=29.8683, Longitude=121.5440, Precision=65.0),
        "CLICK": event("CLICK", openid, EventKey="MY_BOOKINGS"),
        "CLICK_unknown": event("CLICK", openid, EventKey="NO_SUCH_KEY"),
        "VIEW": event("VIEW", openid, EventKey="https://example-bank.cn/loans", MenuId="1"),
        "location_select": event("location_select", openid, EventKey="BRANCH_NEARBY",
                                 SendLocationInfo={"Location_X": "29.8683", "Location_Y": "121.5440",
                                                   "Scale": "15", "Label": "宁波市海曙区", "Poiname": "天一广场"}),
        "scancode_push": event("scancode_push", openid, EventKey="SCAN_1",
                               ScanCodeInfo={"ScanType": "qrcode", "ScanResult": "1"}),
        "scancode_waitmsg": event("scancode_waitmsg", openid, EventKey="SCAN_2",
                                  ScanCodeInfo={"ScanType": "qrcode", "ScanResult": "2"}),
        "pic_sysphoto": event("pic_sysphoto", openid, EventKey="PIC_1", SendPicsInfo=PICS),
        "pic_photo_or_album": event("pic_photo_or_album", openid, EventKey="PIC_2", SendPicsInfo=PICS),
        "pic_weixin": event("pic_weixin", openid, EventKey="PIC_3", SendPicsInfo=PICS),
        "TEMPLATESENDJOBFINISH": event("TEMPLATESENDJOBFINISH", openid, MsgID=200163836, Status="success"),
        "unknown_event": event("some_future_event", openid, EventKey="X"),
        "unknown_message": msg("hologram", openid, Payload="x"),
    }


def signature(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def request(fields: dict | str, mode: str = "plain", timestamp: int | None = None,
            nonce: str | None = None) -> tuple[str, bytes]:
    """(path with query, body) as WeChat would POST `fields` in `mode`."""
    token, aes_key, appid = _credentials()
    timestamp = int(time.time()) if timestamp is None else timestamp
    nonce = nonce or secrets.token_hex(5)
    plain = fields if isinstance(fields, str) else message_xml(fields)
    query = {"signature": signature(token, str(timestamp), nonce), "timestamp": str(timestamp), "nonce": nonce,
             "openid": "" if isinstance(fields, str) else fields.get("FromUserName", "")}
    if mode == "plain":
        return "/wechat?" + urlencode(query), plain.encode()
    envelope = xmltodict.parse(WeChatCrypto(token, aes_key, appid).encrypt_message(plain, nonce, str(timestamp)))["xml"]
    query.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
    if mode == "safe":
        body = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>")
    else:  # compatible: plaintext fields and the ciphertext side by side
        body = plain.replace("</xml>", f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>")
    return "/wechat?" + urlencode(query), body.encode()


def read_reply(body: bytes | str, mode: str) -> dict | None:
    """The reply as WeChat reads it: None for `success`/empty; otherwise the XML fields,
    after checking the signature and decrypting in safe and compatible mode."""
    text = body.decode() if isinstance(body, bytes) else body
    if text in ("", "success"):
        return None
    if mode != "plain":
        token, aes_key, appid = _credentials()
        envelope = xmltodict.parse(text)["xml"]
        assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
        text = WeChatCrypto(token, aes_key, appid).decrypt_message(
            text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
    return xmltodict.parse(text)["xml"]

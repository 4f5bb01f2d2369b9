"""WeChat's side of the message protocol, for the simulator: build the XML WeChat would push
for a user's message or menu event, sign it (and in safe mode encrypt it) with the account's
token and EncodingAESKey, POST it to the webhook, and read the passive reply back.

wechatpy does the cryptography, so the webhook is checked against an independent
implementation of the protocol, as it would be by WeChat itself."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from functions.common import clock, config

# The service account's original id (gh_...); WeChat puts it in ToUserName.
ACCOUNT_ID = "gh_ningbo_local"
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Credentials:
    token: str
    aes_key: str
    app_id: str

    @classmethod
    def from_environment(cls) -> Credentials:
        """The same settings the webhook reads (the local stack puts them in the environment)."""
        return cls(
            token=config.secret("WECHAT_TOKEN"),
            aes_key=config.secret("WECHAT_ENCODING_AES_KEY"),
            app_id=config.settings().wechat_app_id,
        )


def _cdata(value: Any) -> str:
    text = str(value).replace("]]>", "]]]]><![CDATA[>")
    return f"<![CDATA[{text}]]>"


def _element(name: str, value: Any) -> str:
    if isinstance(value, dict):
        inner = "".join(_element(k, v) for k, v in value.items())
        return f"<{name}>{inner}</{name}>"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"<{name}>{value}</{name}>"
    return f"<{name}>{_cdata(value)}</{name}>"


def message_xml(openid: str, kind: str, create_time: int, msg_id: int | None = None, **fields: Any) -> str:
    """The XML WeChat pushes. `kind`: text, location, or event (with Event/EventKey...)."""
    head: dict[str, Any] = {
        "ToUserName": ACCOUNT_ID,
        "FromUserName": openid,
        "CreateTime": create_time,
        "MsgType": kind,
    }
    body = {**head, **fields}
    if msg_id is not None:
        body["MsgId"] = msg_id
    return "<xml>" + "".join(_element(k, v) for k, v in body.items()) + "</xml>"


def text(openid: str, content: str, now: int | None = None) -> str:
    now = now or clock.epoch()
    return message_xml(openid, "text", now, _msg_id(), Content=content)


def location(openid: str, lat: float, lng: float, label: str = "", scale: int = 15, now: int | None = None) -> str:
    now = now or clock.epoch()
    return message_xml(openid, "location", now, _msg_id(), Location_X=lat, Location_Y=lng, Scale=scale, Label=label)


def event(openid: str, name: str, key: str = "", now: int | None = None, **extra: Any) -> str:
    """A menu or subscription event (`subscribe`, `CLICK`, `VIEW`, `location_select`...)."""
    now = now or clock.epoch()
    fields: dict[str, Any] = {"Event": name}
    if key or name in ("CLICK", "VIEW", "location_select"):
        fields["EventKey"] = key
    fields.update(extra)
    return message_xml(openid, "event", now, **fields)


def location_select(openid: str, key: str, lat: float, lng: float, label: str = "", poiname: str = "",
                    now: int | None = None) -> str:
    info = {"Location_X": lat, "Location_Y": lng, "Scale": 15, "Label": label, "Poiname": poiname or label}
    return event(openid, "location_select", key, now=now, SendLocationInfo=info)


def template_finished(openid: str, msg_id: str | int, status: str, now: int | None = None) -> str:
    """TEMPLATESENDJOBFINISH: WeChat's report of a template message's delivery."""
    now = now or clock.epoch()
    return message_xml(openid, "event", now, Event="TEMPLATESENDJOBFINISH", MsgID=int(msg_id), Status=status)


def _msg_id() -> int:
    """WeChat's MsgId: a 64-bit number, unique per message."""
    return secrets.randbits(62)


@dataclass(frozen=True)
class Exchange:
    """One push to the webhook and what came back."""

    status: int
    request_xml: str
    reply_xml: str
    reply: dict[str, Any]
    encrypted: bool


def push(webhook_url: str, xml: str, openid: str, creds: Credentials, encrypt: bool = True,
         session: requests.Session | None = None) -> Exchange:
    """POST `xml` as WeChat does (signature, timestamp, nonce, openid in the query; the body
    encrypted in safe mode) and decode the passive reply."""
    timestamp = str(clock.epoch())
    nonce = secrets.token_hex(5)
    signer = WeChatSigner()
    signer.add_data(creds.token, timestamp, nonce)
    params = {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce, "openid": openid}
    body = xml
    crypto = WeChatCrypto(creds.token, creds.aes_key, creds.app_id)
    if encrypt:
        from wechatpy.crypto import PrpCrypto

        encrypted = PrpCrypto(crypto.key).encrypt(xml, creds.app_id).decode()
        params["encrypt_type"] = "aes"
        signer = WeChatSigner()
        signer.add_data(creds.token, timestamp, nonce, encrypted)
        params["msg_signature"] = signer.signature
        body = f"<xml><ToUserName>{_cdata(ACCOUNT_ID)}</ToUserName><Encrypt>{_cdata(encrypted)}</Encrypt></xml>"
    http = session or requests
    res = http.post(
        f"{webhook_url}?{urlencode(params)}",
        data=body.encode("utf-8"),
        headers={"Content-Type": "text/xml; charset=utf-8", "User-Agent": "Mozilla/4.0 (WeChat simulator)"},
        timeout=TIMEOUT_S,
    )
    raw = res.content.decode("utf-8", "replace")
    reply_xml = raw
    if encrypt and res.ok and "<Encrypt>" in raw:
        parsed = xmltodict.parse(raw)["xml"]
        reply_xml = crypto.decrypt_message(raw, parsed["MsgSignature"], parsed["TimeStamp"], parsed["Nonce"])
    return Exchange(res.status_code, xml, reply_xml, parse_reply(reply_xml) if res.ok else {"type": "error"}, encrypt)


def parse_reply(reply_xml: str) -> dict[str, Any]:
    """A passive reply as the chat shows it: {"type": "text", "text"}, {"type": "news",
    "articles": [...]}, or {"type": "none"} for `success` / an empty body."""
    stripped = reply_xml.strip()
    if not stripped or stripped == "success":
        return {"type": "none"}
    msg = xmltodict.parse(stripped)["xml"]
    kind = msg.get("MsgType")
    if kind == "text":
        return {"type": "text", "text": msg.get("Content") or ""}
    if kind == "news":
        items = (msg.get("Articles") or {}).get("item") or []
        items = items if isinstance(items, list) else [items]
        articles = [
            {
                "title": item.get("Title") or "",
                "description": item.get("Description") or "",
                "url": item.get("Url") or "",
                "image": item.get("PicUrl") or "",
            }
            for item in items
        ]
        return {"type": "news", "articles": articles}
    return {"type": kind or "unknown", "raw": stripped}

"""The WeChat message protocol, on top of wechatpy: verify, decrypt, parse, reply, encrypt.

Plain mode (signature only), compatible and safe mode (`encrypt_type=aes`, `msg_signature`,
AES-256-CBC with the EncodingAESKey). Signatures are compared in constant time, requests
outside the timestamp window are refused (replays), bodies are size-limited and any
DOCTYPE/ENTITY is refused before an XML parser sees it. Every failure is a `ProtocolError`
carrying the 4xx status the webhook answers; nothing here raises anything else for bad
input.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import WeChatSigner

from functions.common import clock, config
from functions.common.intents import Intent, Location, Reply

SUCCESS = "success"
TEXT_LIMIT_BYTES = 2048
_FORBIDDEN_XML = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class ProtocolError(Exception):
    """A request WeChat would not have sent; answered with `status`, never a 500."""

    status = 400
    code = "bad_request"


class BadSignature(ProtocolError):
    status = 403
    code = "bad_signature"


class StaleRequest(ProtocolError):
    status = 403
    code = "stale_timestamp"


class BodyTooLarge(ProtocolError):
    status = 413
    code = "body_too_large"


class ForbiddenXml(ProtocolError):
    code = "forbidden_xml"


class MalformedMessage(ProtocolError):
    code = "malformed"


@dataclass(frozen=True)
class Inbound:
    """A verified, decrypted and parsed message, and how to answer it."""

    message: Any  # a wechatpy message or event
    encrypted: bool
    xml: str
    received_at: int  # epoch seconds, also the reply's CreateTime and TimeStamp


def signature(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def _same(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


class _Prp(PrpCrypto):
    """wechatpy's message cipher with a cryptographically random 16-byte prefix (wechatpy
    draws it from `random`), built once per account rather than once per message."""

    def get_random_string(self) -> str:
        return secrets.token_hex(8)


class _Crypto(WeChatCrypto):
    """wechatpy's envelope (encrypt, sign) around the one `_Prp` of the account."""

    def __init__(self, token: str, aes_key: str, appid: str):
        super().__init__(token, aes_key, appid)
        self.prp = _Prp(self.key)

    def encrypt_message(self, msg: str, nonce: str, timestamp: str | None = None) -> str:
        return self._encrypt_message(msg, nonce, timestamp, lambda _key: self.prp)


@lru_cache(maxsize=4)
def _protocol(*args: Any) -> Protocol:
    return Protocol(*args)


class Protocol:
    """One WeChat account's side of the protocol."""

    def __init__(self, token: str, aes_key: str, appid: str, window_s: int = 300, max_body_bytes: int = 65536):
        self.token = token
        self.aes_key = aes_key
        self.appid = appid
        self.window_s = window_s
        self.max_body_bytes = max_body_bytes

    @classmethod
    def from_settings(cls) -> Protocol:
        s = config.settings()
        return _protocol(config.secret("WECHAT_TOKEN"), config.secret("WECHAT_ENCODING_AES_KEY"), s.wechat_app_id,
                         s.timestamp_window_s, s.max_body_bytes)

    @cached_property
    def crypto(self) -> _Crypto:
        return _Crypto(self.token, self.aes_key, self.appid)

    # -- inbound -------------------------------------------------------------------------

    def check_request(self, params: Mapping[str, str], now: int | None = None) -> None:
        """The plain signature and the timestamp window (every request carries both)."""
        timestamp, nonce = params.get("timestamp") or "", params.get("nonce") or ""
        if not timestamp.isdigit() or len(timestamp) > 12 or not nonce or len(nonce) > 64:
            raise BadSignature("timestamp or nonce missing")
        if not _same(signature(self.token, timestamp, nonce), params.get("signature")):
            raise BadSignature("signature mismatch")
        if abs((clock.epoch() if now is None else now) - int(timestamp)) > self.window_s:
            raise StaleRequest("timestamp outside the window")

    def echo(self, params: Mapping[str, str]) -> str:
        """GET verification: the echostr back when the signature holds."""
        self.check_request(params)
        echostr = params.get("echostr")
        if not echostr:
            raise MalformedMessage("echostr missing")
        return echostr

    def open(self, params: Mapping[str, str], body: bytes) -> Inbound:
        """Verify, decrypt (safe and compatible mode) and parse a POSTed message."""
        if len(body) > self.max_body_bytes:
            raise BodyTooLarge(f"{len(body)} bytes")
        now = clock.epoch()
        self.check_request(params, now)
        encrypted = (params.get("encrypt_type") or "raw").lower() == "aes"
        if not encrypted and params.get("encrypt_type") not in (None, "", "raw"):
            raise MalformedMessage("unknown encrypt_type")
        xml = _xml_text(body)
        if encrypted:
            xml = self._decrypt(xml, params)
        return Inbound(_parse(xml), encrypted, xml, now)

    def _decrypt(self, xml: str, params: Mapping[str, str]) -> str:
        envelope = _xml_dict(xml)
        encrypt = envelope.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise MalformedMessage("Encrypt missing")
        expected = signature(self.token, params.get("timestamp", ""), params.get("nonce", ""), encrypt)
        if not _same(expected, params.get("msg_signature")):
            raise BadSignature("msg_signature mismatch")
        try:
            plain = self.crypto.prp.decrypt(encrypt, self.appid)
        except Exception as error:  # wechatpy raises many kinds for bad ciphertext
            raise MalformedMessage(f"cannot decrypt: {type(error).__name__}") from None
        return _xml_text(plain if isinstance(plain, bytes) else plain.encode("utf-8"))

    # -- outbound ------------------------------------------------------------------------

    def render(self, inbound: Inbound, reply: Reply) -> str:
        """The passive reply's plaintext XML, or `success` for nothing."""
        from wechatpy.replies import ArticlesReply, TextReply

        raw = inbound.message._data
        ends = {"source": raw["ToUserName"], "target": raw["FromUserName"], "time": inbound.received_at}
        if reply.type == "text" and reply.text:
            return TextReply(content=_cdata(fit_text(reply.text)), **ends).render()
        if reply.type == "news" and reply.article:
            a = reply.article
            article = {"title": _cdata(a.title), "description": _cdata(a.description), "url": _cdata(a.url),
                       "image": _cdata(a.image)}
            return ArticlesReply(articles=[article], **ends).render()
        return SUCCESS

    def seal(self, inbound: Inbound, reply_xml: str) -> str:
        """Encrypt and sign the reply in safe/compatible mode; `success` stays plain."""
        if not inbound.encrypted or reply_xml == SUCCESS:
            return reply_xml
        return self.crypto.encrypt_message(reply_xml, secrets.token_hex(8), str(inbound.received_at))


def fit_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> str:
    """`text` cut (at a character boundary, with an ellipsis) to fit WeChat's byte limit."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    ellipsis = "…".encode()
    return encoded[: limit - len(ellipsis)].decode("utf-8", "ignore") + "…"


def _cdata(value: str) -> str:
    """Text that cannot close the CDATA section wechatpy wraps it in."""
    return (value or "").replace("]]>", "]]]]><![CDATA[>")


def _xml_text(body: bytes) -> str:
    if _FORBIDDEN_XML.search(body):
        raise ForbiddenXml("DOCTYPE or ENTITY")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMessage("not UTF-8") from None


def _xml_dict(xml: str) -> dict:
    from xml.parsers.expat import ExpatError

    import xmltodict

    try:
        root = xmltodict.parse(xml, disable_entities=True)
    except (ExpatError, ValueError) as error:
        raise MalformedMessage(f"bad XML: {error}") from None
    node = root.get("xml") if isinstance(root, dict) else None
    if not isinstance(node, dict):
        raise MalformedMessage("no <xml> root")
    return node


def _parse(xml: str) -> Any:
    from wechatpy.parser import parse_message

    try:
        message = parse_message(xml)
    except Exception as error:  # noqa: BLE001 - any parse failure is the sender's fault
        raise MalformedMessage(f"cannot parse: {type(error).__name__}") from None
    raw = getattr(message, "_data", None)
    if not isinstance(raw, dict):
        raise MalformedMessage("no <xml> root")
    for name in ("ToUserName", "FromUserName", "MsgType"):
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise MalformedMessage(f"{name} missing")
    if not isinstance(raw.get("CreateTime"), str) or not raw["CreateTime"].isdigit():
        raise MalformedMessage("CreateTime missing")
    if raw.get("MsgId") is not None and not (isinstance(raw["MsgId"], str) and raw["MsgId"].isdigit()):
        raise MalformedMessage("bad MsgId")
    return message


def dedup_key(message: Any) -> str:
    """WeChat's advice: MsgId; for events FromUserName+CreateTime(+Event+EventKey). Events
    that carry their own MsgID (TEMPLATESENDJOBFINISH) are keyed on it too: two delivery
    reports for one user can share a second."""
    raw = message._data
    if raw.get("MsgType") != "event" and raw.get("MsgId"):
        key = f"msg:{raw['MsgId']}"
    elif raw.get("MsgID"):
        key = f"evt:{raw.get('FromUserName')}:{raw.get('Event', '')}:{raw['MsgID']}"
    else:
        event_key = raw.get("EventKey") if isinstance(raw.get("EventKey"), str) else ""
        key = f"evt:{raw.get('FromUserName')}:{raw.get('CreateTime')}:{raw.get('Event', '')}:{event_key or ''}"
    # DynamoDB keys stop at 2048 bytes; absurdly long fields are hashed, not refused
    return key if len(key) <= 512 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def event_name(message: Any) -> str:
    """Lower-case event name as WeChat sent it (`""` for messages)."""
    raw = message._data
    return str(raw.get("Event") or "").lower() if raw.get("MsgType") == "event" else ""


def to_intent(message: Any) -> Intent | None:
    """The intent a feature answers, or None when no feature is concerned. Reads the
    parsed fields directly (wechatpy's descriptors copy and convert on every access)."""
    raw = message._data
    msg_type = raw["MsgType"].lower()
    event = event_name(message)
    base = {"openid": raw["FromUserName"], "create_time": int(raw["CreateTime"]),
            "msg_id": str(raw.get("MsgId") or raw.get("MsgID") or "")}
    try:
        if msg_type == "text":
            return Intent(kind="text", text=str(raw.get("Content") or "").strip(), **base)
        if msg_type == "location":
            return Intent(kind="location", location=Location(float(raw["Location_X"]), float(raw["Location_Y"]),
                                                             label=str(raw.get("Label") or "")), **base)
        if event == "location_select":
            info = raw["SendLocationInfo"]
            return Intent(kind="location", key=_text(raw.get("EventKey")),
                          location=Location(float(info["Location_X"]), float(info["Location_Y"]),
                                            label=_text(info.get("Label")) or _text(info.get("Poiname"))), **base)
        if event == "location":
            return Intent(kind="location_report", location=Location(
                float(raw["Latitude"]), float(raw["Longitude"]), precision=float(raw.get("Precision") or 0)), **base)
        if event == "click":
            return Intent(kind="click", key=_text(raw.get("EventKey")), **base)
        if event == "unsubscribe":
            return Intent(kind="unsubscribe", **base)
        if event == "templatesendjobfinish":
            return Intent(kind="delivery_report", template_msg_id=_text(raw.get("MsgID")),
                          status=_text(raw.get("Status")), **base)
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedMessage(f"bad {msg_type} {event}: {type(error).__name__}") from None
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""

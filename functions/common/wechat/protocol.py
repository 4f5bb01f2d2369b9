"""The WeChat message protocol: verify, decrypt, parse, reply, encrypt.

The account's message mode is WeChat's own setting (`WECHAT_MESSAGE_MODE`): `plain` (the
signature covers token, timestamp and nonce only), `compatible` (the plaintext fields and
their ciphertext side by side, `encrypt_type=aes` and `msg_signature`) and `safe` (the
ciphertext alone). `safe` refuses anything unencrypted before reading it. Wherever a
message is encrypted, only the decrypted fields count, never the plaintext beside
`<Encrypt>`. Outside `safe`, the body is not signed: the webhook binds each (timestamp,
nonce) to a digest of its body (`Inbound.binds_body`), so a captured query string cannot
carry another body.

Signatures are compared in constant time, requests outside the timestamp window are refused
(replays), bodies are size-limited and any DOCTYPE/ENTITY is refused before an XML parser
sees it. Every failure is a `ProtocolError` carrying the 4xx status the webhook answers;
nothing here raises anything else for bad input.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from functions.common import clock, config
from functions.common.intents import Reply
from functions.common.wechat.crypto import CryptoError, MessageCipher, signature

MODES = ("plain", "compatible", "safe")
SUCCESS = "success"
TEXT_LIMIT_BYTES = 2048
_FORBIDDEN_XML = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class ProtocolError(Exception):
    """A request WeChat would not have sent; answered with `status`, never a 500."""

    status = 400
    code = "bad_request"


class Refused(ProtocolError):
    """A request that is not WeChat's, or not any more: 403."""

    status = 403


class BadSignature(Refused):
    code = "bad_signature"


class StaleRequest(Refused):
    code = "stale_timestamp"


class EncryptionRequired(Refused):
    """A message without `encrypt_type=aes` and its `msg_signature` to a safe-mode account."""

    code = "encryption_required"


class NonceReused(Refused):
    """A (timestamp, nonce) already seen with another body: a captured query string."""

    code = "nonce_reused"


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

    fields: dict[str, Any]  # the children of <xml>: text, or a dict for nested elements
    encrypted: bool
    received_at: int  # epoch seconds, also the reply's CreateTime and TimeStamp
    timestamp: str
    nonce: str
    body_digest: str  # SHA-256 of the body as received
    binds_body: bool  # the signature does not cover the body: bind it to (timestamp, nonce)

    def text(self, name: str) -> str:
        """A field's text ("" when absent or not text)."""
        value = self.fields.get(name)
        return value if isinstance(value, str) else ""


def _same(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


@lru_cache(maxsize=4)
def _protocol(*args: Any) -> Protocol:
    return Protocol(*args)


class Protocol:
    """One WeChat account's side of the protocol."""

    def __init__(self, token: str, aes_key: str | None, appid: str, mode: str = "safe", window_s: int = 300,
                 max_body_bytes: int = 65536):
        if mode not in MODES:
            raise ValueError(f"WECHAT_MESSAGE_MODE must be one of {', '.join(MODES)}, not {mode!r}")
        self.token = token
        self.aes_key = aes_key
        self.appid = appid
        self.mode = mode
        self.window_s = window_s
        self.max_body_bytes = max_body_bytes

    @classmethod
    def from_settings(cls) -> Protocol:
        """The account in the settings. A plain-mode account needs no EncodingAESKey."""
        s = config.settings()
        try:
            aes_key: str | None = config.secret("WECHAT_ENCODING_AES_KEY")
        except RuntimeError:
            if s.wechat_message_mode != "plain":
                raise
            aes_key = None
        return _protocol(config.secret("WECHAT_TOKEN"), aes_key, s.wechat_app_id, s.wechat_message_mode,
                         s.timestamp_window_s, s.max_body_bytes)

    @cached_property
    def cipher(self) -> MessageCipher:
        if not self.aes_key:
            raise MalformedMessage("no EncodingAESKey: this account takes plain messages only")
        return MessageCipher(self.aes_key, self.appid)

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
        encrypt_type = (params.get("encrypt_type") or "raw").lower()
        if encrypt_type not in ("raw", "aes"):
            raise MalformedMessage("unknown encrypt_type")
        encrypted = encrypt_type == "aes"
        if self.mode == "safe" and not encrypted:
            raise EncryptionRequired("safe mode takes encrypted messages only")
        xml = _xml_text(body)
        if encrypted:
            xml = self._decrypt(xml, params)
        return Inbound(_message(xml), encrypted, now, params["timestamp"], params["nonce"],
                       hashlib.sha256(body).hexdigest(), self.mode != "safe")

    def _decrypt(self, xml: str, params: Mapping[str, str]) -> str:
        """The decrypted payload; the plaintext fields beside <Encrypt> are never read."""
        encrypt = _xml_dict(xml).get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise MalformedMessage("Encrypt missing")
        expected = signature(self.token, params["timestamp"], params["nonce"], encrypt)
        if not _same(expected, params.get("msg_signature")):
            raise BadSignature("msg_signature mismatch")
        try:
            plain = self.cipher.decrypt(encrypt)
        except CryptoError as error:
            raise MalformedMessage(f"cannot decrypt: {error}") from None
        return _xml_text(plain)

    # -- outbound ------------------------------------------------------------------------

    def render(self, inbound: Inbound, reply: Reply) -> str:
        """The passive reply's plaintext XML, or `success` for nothing."""
        head = (f"<xml><ToUserName>{_cdata(inbound.text('FromUserName'))}</ToUserName>"
                f"<FromUserName>{_cdata(inbound.text('ToUserName'))}</FromUserName>"
                f"<CreateTime>{inbound.received_at}</CreateTime>")
        if reply.type == "text" and reply.text:
            return f"{head}<MsgType><![CDATA[text]]></MsgType><Content>{_cdata(fit_text(reply.text))}</Content></xml>"
        if reply.type == "news" and reply.article:
            a = reply.article
            return (f"{head}<MsgType><![CDATA[news]]></MsgType><ArticleCount>1</ArticleCount><Articles><item>"
                    f"<Title>{_cdata(a.title)}</Title><Description>{_cdata(a.description)}</Description>"
                    f"<PicUrl>{_cdata(a.image)}</PicUrl><Url>{_cdata(a.url)}</Url></item></Articles></xml>")
        return SUCCESS

    def seal(self, inbound: Inbound, reply_xml: str) -> str:
        """Encrypt and sign the reply of an encrypted message; `success` stays plain."""
        if not inbound.encrypted or reply_xml == SUCCESS:
            return reply_xml
        return self.envelope(reply_xml, str(inbound.received_at), inbound.nonce, os.urandom(16))

    def envelope(self, reply_xml: str, timestamp: str, nonce: str, prefix: bytes) -> str:
        """The encrypted reply as WeChat reads it: ciphertext, its signature, time, nonce."""
        encrypt = self.cipher.encrypt(reply_xml.encode(), prefix)
        return ("<xml>\n"
                f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>\n"
                f"<MsgSignature><![CDATA[{signature(self.token, timestamp, nonce, encrypt)}]]></MsgSignature>\n"
                f"<TimeStamp>{timestamp}</TimeStamp>\n"
                f"<Nonce>{_cdata(nonce)}</Nonce>\n"
                "</xml>")


def fit_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> str:
    """`text` cut (at a character boundary, with an ellipsis) to fit WeChat's byte limit."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    ellipsis = "…".encode()
    return encoded[: limit - len(ellipsis)].decode("utf-8", "ignore") + "…"


def _cdata(value: str) -> str:
    """A CDATA section holding `value`, whatever it holds (a `]]>` is split across two)."""
    return "<![CDATA[" + (value or "").replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml_text(body: bytes) -> str:
    if _FORBIDDEN_XML.search(body):
        raise ForbiddenXml("DOCTYPE or ENTITY")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMessage("not UTF-8") from None


MAX_DEPTH = 5  # <xml><SendPicsInfo><PicList><item><PicMd5Sum>: deeper is nothing WeChat sends


def _xml_dict(xml: str) -> dict[str, Any]:
    """The children of the <xml> root: text (stripped, None when empty), or for an element
    with children a dict of the same; a repeated name gives a list. Read with expat, which
    fetches nothing; a DOCTYPE or an entity declaration is refused here too."""
    from xml.parsers.expat import ExpatError, ParserCreate

    stack: list[tuple[str, dict[str, Any], list[str]]] = []
    parsed: list[tuple[str, Any]] = []

    def start(name: str, _attributes: Any) -> None:
        if len(stack) == MAX_DEPTH:
            raise MalformedMessage("nested too deep")
        stack.append((name, {}, []))

    def end(_name: str) -> None:
        name, children, text = stack.pop()
        value = children or "".join(text).strip() or None
        siblings = stack[-1][1] if stack else None
        if siblings is None:
            parsed.append((name, value))
        elif name not in siblings:
            siblings[name] = value
        elif isinstance(siblings[name], list):
            siblings[name].append(value)
        else:
            siblings[name] = [siblings[name], value]

    def text(data: str) -> None:
        if stack:
            stack[-1][2].append(data)

    def refuse(*_: Any) -> Any:
        raise ForbiddenXml("DOCTYPE or ENTITY")

    parser = ParserCreate()
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = parser.ExternalEntityRefHandler = refuse
    try:
        parser.Parse(xml, True)
    except ExpatError as error:
        raise MalformedMessage(f"bad XML: {error}") from None
    if not parsed or parsed[0][0] != "xml" or not isinstance(parsed[0][1], dict):
        raise MalformedMessage("no <xml> root")
    return parsed[0][1]


def _message(xml: str) -> dict[str, Any]:
    """A message's fields, with the ones every message carries checked."""
    fields = _xml_dict(xml)
    for name in ("ToUserName", "FromUserName", "MsgType"):
        if not isinstance(fields.get(name), str) or not fields[name]:
            raise MalformedMessage(f"{name} missing")
    if not isinstance(fields.get("CreateTime"), str) or not fields["CreateTime"].isdigit():
        raise MalformedMessage("CreateTime missing")
    if fields.get("MsgId") is not None and not (isinstance(fields["MsgId"], str) and fields["MsgId"].isdigit()):
        raise MalformedMessage("bad MsgId")
    return fields


def event_name(inbound: Inbound) -> str:
    """Lower-case event name as WeChat sent it (`""` for messages)."""
    return inbound.text("Event").lower() if inbound.text("MsgType") == "event" else ""


def dedup_key(inbound: Inbound) -> str:
    """WeChat's advice, with the sender always in the key (two senders may share a MsgId):
    FromUserName+MsgId; for events FromUserName+CreateTime+Event+EventKey. Events that
    carry their own MsgID (TEMPLATESENDJOBFINISH) are keyed on it: two delivery reports
    for one user can share a second."""
    sender = inbound.text("FromUserName")
    if inbound.text("MsgType") != "event" and inbound.text("MsgId"):
        key = f"msg:{sender}:{inbound.text('MsgId')}"
    elif inbound.text("MsgID"):
        key = f"evt:{sender}:{inbound.text('Event')}:{inbound.text('MsgID')}"
    else:
        key = f"evt:{sender}:{inbound.text('CreateTime')}:{inbound.text('Event')}:{inbound.text('EventKey')}"
    # DynamoDB keys stop at 2048 bytes; absurdly long fields are hashed, not refused
    return key if len(key) <= 512 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()

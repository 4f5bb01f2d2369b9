"""The hostile corpus for POST /wechat: valid messages built with wechatpy (tests/webhook's
WeChat side), then mutated the ways an attacker or a broken proxy would. Each case says
what it must get: `refused` (a 4xx, nothing stored) or `either` (a 4xx, or 200 with `success`
or a reply, storing only what a genuine message of that kind stores). Never a 5xx."""
from __future__ import annotations

import base64
import os
import secrets
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from tests.webhook import wechat_side as wx

XML = "text/xml"
MB = 1024 * 1024


@dataclass
class Case:
    group: str
    label: str
    path: str
    body: bytes
    expect: str  # "refused" | "either"
    content_type: str | None = XML
    headers: dict = field(default_factory=dict)


def _credentials() -> tuple[str, str, str]:
    from functions.common import config

    return os.environ["WECHAT_TOKEN"], os.environ["WECHAT_ENCODING_AES_KEY"], config.settings().wechat_app_id


def _requery(path: str, **changes: str | None) -> str:
    """The request's path with query parameters changed (None drops one)."""
    base, _, query = path.partition("?")
    params = dict(parse_qsl(query, keep_blank_values=True))
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return f"{base}?{urlencode(params)}"


def signed_envelope(encrypt: str, timestamp: int | None = None, nonce: str | None = None) -> tuple[str, bytes]:
    """A safe-mode request whose msg_signature is right for `encrypt`, whatever it holds:
    the request passes every signature check and reaches decryption."""
    token, _, _ = _credentials()
    timestamp = int(time.time()) if timestamp is None else timestamp
    nonce = nonce or secrets.token_hex(5)
    query = {"signature": wx.signature(token, str(timestamp), nonce), "timestamp": str(timestamp), "nonce": nonce,
             "openid": "o_x", "encrypt_type": "aes",
             "msg_signature": wx.signature(token, str(timestamp), nonce, encrypt)}
    body = f"<xml><ToUserName><![CDATA[{wx.ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    return "/wechat?" + urlencode(query), body.encode()


def aes_raw(plaintext: bytes) -> str:
    """AES-256-CBC of an already block-aligned plaintext under the account's key (WeChat's
    IV is the key's first 16 bytes), base64: lets a case choose its own padding."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    _, aes_key, _ = _credentials()
    key = base64.b64decode(aes_key + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plaintext) + encryptor.finalize()).decode()


def wechat_frame(xml: bytes, appid: str | None = None, length: int | None = None) -> bytes:
    """WeChat's plaintext frame: 16 random bytes, length (big-endian), message, app id."""
    _, _, own = _credentials()
    return os.urandom(16) + struct.pack(">I", len(xml) if length is None else length) + xml + (appid or own).encode()


def pkcs7(data: bytes, block: int = 32) -> bytes:
    n = block - len(data) % block
    return data + bytes([n]) * n


def encrypted(xml: bytes, appid: str | None = None) -> tuple[str, bytes]:
    """A correctly padded, correctly signed safe-mode request carrying `xml` (for payloads
    that are hostile only once decrypted)."""
    return signed_envelope(aes_raw(pkcs7(wechat_frame(xml, appid))))


def _text(openid: str | None = None, content: str = "网点") -> dict:
    return wx.msg("text", openid, Content=content)


def _post(fields: dict | str, mode: str = "plain", **kw) -> tuple[str, bytes]:
    return wx.request(fields, mode, **kw)


def signature_cases() -> Iterator[Case]:
    for mode in wx.MODES:
        path, body = _post(_text(), mode)
        yield Case("signature", f"{mode}: no signature", _requery(path, signature=None), body, "refused")
        yield Case("signature", f"{mode}: empty signature", _requery(path, signature=""), body, "refused")
        for n in range(4):
            yield Case("signature", f"{mode}: random signature {n}", _requery(path, signature=secrets.token_hex(20)),
                       body, "refused")
        token, _, _ = _credentials()
        query = dict(parse_qsl(path.partition("?")[2]))
        wrong = wx.signature(token + "x", query["timestamp"], query["nonce"])
        yield Case("signature", f"{mode}: signed with another token", _requery(path, signature=wrong), body, "refused")
        yield Case("signature", f"{mode}: upper-case signature", _requery(path, signature=query["signature"].upper()),
                   body, "refused")
        yield Case("signature", f"{mode}: nonce changed after signing", _requery(path, nonce="othernonce"), body,
                   "refused")
        yield Case("signature", f"{mode}: no nonce", _requery(path, nonce=None), body, "refused")
        yield Case("signature", f"{mode}: 1 KB nonce", _requery(path, nonce="n" * 1024), body, "refused")
        yield Case("signature", f"{mode}: 1 KB signature", _requery(path, signature="a" * 1024), body, "refused")
        if mode != "plain":
            yield Case("signature", f"{mode}: no msg_signature", _requery(path, msg_signature=None), body, "refused")
            yield Case("signature", f"{mode}: wrong msg_signature", _requery(path, msg_signature=secrets.token_hex(20)),
                       body, "refused")
            yield Case("signature", f"{mode}: unknown encrypt_type", _requery(path, encrypt_type="rsa"), body,
                       "refused")
    yield Case("signature", "no query at all", "/wechat", _post(_text())[1], "refused")


def timestamp_cases() -> Iterator[Case]:
    now = int(time.time())
    offsets = {"stale 301 s": -301, "stale 1 h": -3600, "stale 1 day": -86400, "stale 1 year": -365 * 86400,
               "future 6 min": 360, "future 1 h": 3600, "future 1 year": 365 * 86400}
    for mode in wx.MODES:
        for label, delta in offsets.items():
            path, body = _post(_text(), mode, timestamp=now + delta)
            yield Case("timestamp", f"{mode}: {label}", path, body, "refused")
        path, body = _post(_text(), mode, timestamp=0)
        yield Case("timestamp", f"{mode}: epoch 0", path, body, "refused")
    token, _, _ = _credentials()
    for label, value in {"negative": "-5", "float": f"{now}.5", "letters": "now", "13 digits": "9" * 13,
                         "40 digits": "9" * 40, "empty": ""}.items():
        path, body = _post(_text())
        nonce = dict(parse_qsl(path.partition("?")[2]))["nonce"]
        yield Case("timestamp", f"timestamp {label}",
                   _requery(path, timestamp=value, signature=wx.signature(token, value, nonce)), body, "refused")


def appid_cases() -> Iterator[Case]:
    for n, appid in enumerate(["wx0000000000000000", "wxlocal0000000001", "", "wx" + "a" * 200, "微信号"]):
        for kind, fields in list(wx.documented().items())[:4]:
            xml = wx.message_xml(fields).encode()
            path, body = encrypted(xml, appid=appid or "-")
            if appid == "":
                path, body = signed_envelope(aes_raw(pkcs7(wechat_frame(xml)[:-len(_credentials()[2])])))
            yield Case("wrong_appid", f"app id {n} ({appid[:12] or 'none'}) in {kind}", path, body, "refused")


def ciphertext_cases() -> Iterator[Case]:
    xml = wx.message_xml(_text()).encode()
    good = aes_raw(pkcs7(wechat_frame(xml)))
    for cut in (1, 4, 16, 17, 32, 44, 64, len(good) // 2, len(good) - 1, len(good) - 4):
        yield Case("ciphertext", f"truncated to {cut} chars", *signed_envelope(good[:cut]), "refused")
    raw = base64.b64decode(good)
    for cut in (16, 32, len(raw) - 16):
        yield Case("ciphertext", f"whole blocks cut to {cut} bytes",
                   *signed_envelope(base64.b64encode(raw[:cut]).decode()), "refused")
    yield Case("ciphertext", "not base64", *signed_envelope("%%%not-base64%%%"), "refused")
    yield Case("ciphertext", "empty Encrypt", *signed_envelope(""), "refused")
    # CBC: a bit flipped in the block before the last flips the same bit of the padding
    # length, so the frame always ends a byte off (a flip in the last block garbles it, and
    # about one time in 250 the garbage still reads as the original padding length)
    yield Case("ciphertext", "a flipped bit in the block before the last",
               *signed_envelope(base64.b64encode(raw[:-17] + bytes([raw[-17] ^ 1]) + raw[-16:]).decode()), "refused")
    # padding the sender chose: zero, too long, inconsistent
    frame = wechat_frame(xml)
    body = frame + b"\x00" * (32 - len(frame) % 32 or 32)
    yield Case("padding", "zero padding byte", *signed_envelope(aes_raw(body)), "refused")
    for pad in (33, 64, 255):
        short = frame + bytes([pad]) * (32 - len(frame) % 32 or 32)
        yield Case("padding", f"padding byte {pad} (longer than a block)", *signed_envelope(aes_raw(short)), "refused")
    n = 32 - len(frame) % 32 or 32
    yield Case("padding", "inconsistent padding bytes",
               *signed_envelope(aes_raw(frame + bytes([n]) * (n - 1) + bytes([n - 1 or 1]))), "refused")
    yield Case("padding", "no padding block at all", *signed_envelope(aes_raw(frame + b"x" * (32 - len(frame) % 32))),
               "refused")
    for label, length in {"length past the end": len(xml) + 5000, "length 0": 0, "length 2^32-1": 2**32 - 1}.items():
        yield Case("padding", f"frame {label}",
                   *signed_envelope(aes_raw(pkcs7(wechat_frame(xml, length=length)))), "refused")
    yield Case("padding", "frame shorter than its header", *signed_envelope(aes_raw(pkcs7(b"short"))), "refused")


XXE = [
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>a</ToUserName><FromUserName>o_x</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&x;</Content><MsgId>1</MsgId></xml>",
    '<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><xml><a>1</a></xml>',
    '<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd"><xml><a>1</a></xml>',
    '<!doctype xml [<!entity x "y">]><xml><Content>&x;</Content></xml>',
    '<!  DOCTYPE xml [<!ENTITY x SYSTEM "file:///proc/self/environ">]><xml>&x;</xml>',
    '<xml><!ENTITY x "y"><Content>1</Content></xml>',
    '<?xml version="1.0"?><xml xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd"/>'
    "<ToUserName>a</ToUserName></xml>",
]


def _laughs(levels: int = 10) -> str:
    ents = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">'
                                              for i in range(1, levels))
    return f'<?xml version="1.0"?><!DOCTYPE xml [{ents}]><xml><Content>&lol{levels - 1};</Content></xml>'


def xml_cases() -> Iterator[Case]:
    for n, doc in enumerate(XXE):
        path, _ = _post(_text())
        yield Case("xxe", f"XXE {n} plain", path, doc.encode(), "refused")
        yield Case("xxe", f"XXE {n} inside the ciphertext", *encrypted(doc.encode()), "refused")
    for levels in (3, 10):
        path, _ = _post(_text())
        yield Case("entity_expansion", f"billion laughs {levels} levels plain", path, _laughs(levels).encode(),
                   "refused")
        yield Case("entity_expansion", f"billion laughs {levels} levels encrypted",
                   *encrypted(_laughs(levels).encode()), "refused")
    quadratic = '<!DOCTYPE xml [<!ENTITY a "' + "a" * 20000 + '">]><xml>' + "&a;" * 1000 + "</xml>"
    yield Case("entity_expansion", "quadratic blow-up", _post(_text())[0], quadratic.encode(), "refused")
    deep = "<xml>" + "<a>" * 8000 + "</a>" * 8000 + "</xml>"
    yield Case("entity_expansion", "8000 nested elements", _post(_text())[0], deep.encode(), "refused")
    yield Case("entity_expansion", "8000 nested elements encrypted", *encrypted(deep.encode()), "refused")
    for label, doc in {"not XML": b"hello", "empty body": b"", "no root": b"<?xml version='1.0'?>",
                       "two roots": b"<xml></xml><xml></xml>", "root not xml": b"<msg><a>1</a></msg>",
                       "unclosed": b"<xml><ToUserName>a", "JSON": b'{"MsgType": "text"}',
                       "NUL byte": b"<xml><Content>a\x00b</Content></xml>",
                       "processing instruction only": b"<?php echo 1; ?>"}.items():
        yield Case("malformed_xml", label, _post(_text())[0], doc, "refused")
        if doc:
            yield Case("malformed_xml", f"{label} encrypted", *encrypted(doc), "refused")


def size_cases() -> Iterator[Case]:
    path, body = _post(_text(content="网" * 10))
    yield Case("size", "10 MB plain body", path, body.replace(b"</xml>", b"<Pad>" + b"x" * (10 * MB) + b"</Pad></xml>"),
               "refused")
    big = base64.b64encode(os.urandom(7 * MB)).decode()  # ~9.3 MB of ciphertext
    yield Case("size", "10 MB ciphertext", *signed_envelope(big), "refused")
    yield Case("size", "64 KiB + 1 body", path, body + b" " * (65536 + 1 - len(body)), "refused")
    yield Case("size", "100 KB text message", *_post(_text(content="测" * 35000)), "refused")


def encoding_cases() -> Iterator[Case]:
    for label, encoding in {"GBK": "gbk", "GB18030": "gb18030", "UTF-16": "utf-16", "Big5": "big5"}.items():
        fields = _text(content="網點查詢" if encoding == "big5" else "宁波网点查询")
        xml = wx.message_xml(fields)
        path, _ = _post(fields)
        yield Case("encoding", f"{label} body", path, xml.encode(encoding), "refused")
        yield Case("encoding", f"{label} inside the ciphertext", *encrypted(xml.encode(encoding)), "refused")
    for label, raw in {"lone continuation bytes": b"\x80\x81\x82", "overlong slash": b"\xc0\xaf",
                       "surrogate": b"\xed\xa0\x80", "invalid 0xff": b"\xff\xfe"}.items():
        xml = wx.message_xml(_text()).encode().replace("网点".encode(), raw)
        yield Case("encoding", f"{label} plain", _post(_text())[0], xml, "refused")
        yield Case("encoding", f"{label} encrypted", *encrypted(xml), "refused")


NOT_XML = ("application/json", "multipart/form-data; boundary=x", "text/html", "image/png",
           "application/x-www-form-urlencoded")


def content_type_cases() -> Iterator[Case]:
    for ctype in (*NOT_XML, "text/xml; charset=gbk; boundary=\x00", None):
        path, body = _post(_text())
        yield Case("content_type", ctype or "no content type", path, body,
                   "refused" if ctype in NOT_XML else "either", content_type=ctype)


REQUIRED = ("ToUserName", "FromUserName", "CreateTime", "MsgType")
ABSURD: dict[str, list[tuple[str, dict]]] = {
    "text": [("empty Content", {"Content": ""}), ("CDATA breaker", {"Content": "]]><xml>x</xml>"}),
             ("8 KB Content", {"Content": "网" * 2700}), ("markup Content", {"Content": "<script>alert(1)</script>"}),
             ("Content element", {"Content": {"b": "nested"}}), ("control chars", {"Content": "\u0007\u001b[31m"})],
    "location": [("Location_X letters", {"Location_X": "north"}), ("Location_X nan", {"Location_X": "nan"}),
                 ("Location_Y inf", {"Location_Y": "inf"}), ("Location_X 1e400", {"Location_X": "1e400"}),
                 ("latitude -91", {"Location_X": "-91"}), ("longitude 181", {"Location_Y": "181"}),
                 ("4 KB Label", {"Label": "路" * 1300})],
    "LOCATION": [("Latitude letters", {"Latitude": "x"}), ("Latitude nan", {"Latitude": "nan"}),
                 ("Longitude 1e308", {"Longitude": "1e308"}), ("Precision letters", {"Precision": "high"})],
    "location_select": [("SendLocationInfo text", {"SendLocationInfo": "29,121"}),
                        ("Location_X letters", {"SendLocationInfo": {"Location_X": "a", "Location_Y": "b"}}),
                        ("empty info", {"SendLocationInfo": {}})],
    "CLICK": [("EventKey element", {"EventKey": {"k": "BOOKING"}}), ("4 KB EventKey", {"EventKey": "K" * 4000}),
              ("EventKey lower case", {"EventKey": "booking"}), ("empty EventKey", {"EventKey": ""})],
    "TEMPLATESENDJOBFINISH": [("MsgID letters", {"MsgID": "abc"}), ("Status element", {"Status": {"x": "y"}}),
                              ("40-digit MsgID", {"MsgID": "9" * 40})],
    "subscribe": [("Event element", {"Event": {"x": "subscribe"}}), ("unknown Event", {"Event": "self_destruct"})],
    "image": [("PicUrl javascript", {"PicUrl": "javascript:alert(1)"})],
    "voice": [("Recognition element", {"Recognition": {"x": "y"}}), ("Recognition 4 KB", {"Recognition": "贷" * 1300})],
}
GENERIC_ABSURD = [("CreateTime negative", {"CreateTime": "-1"}), ("CreateTime letters", {"CreateTime": "yesterday"}),
                  ("CreateTime 40 digits", {"CreateTime": "9" * 40}), ("MsgType element", {"MsgType": {"x": "text"}}),
                  ("FromUserName 4 KB", {"FromUserName": "o" * 4000}), ("MsgType unknown", {"MsgType": "hologram"})]
REFUSED_GENERIC = {"CreateTime negative", "CreateTime letters", "MsgType element"}


def field_cases() -> Iterator[Case]:
    for kind, fields in wx.documented().items():
        modes = wx.MODES if kind in ("text", "CLICK", "LOCATION") else ("plain",)
        for name in REQUIRED:
            for mode in modes:
                mutated = {k: v for k, v in fields.items() if k != name}
                yield Case("message_fields", f"{kind} without {name} ({mode})", *_post(mutated, mode), "refused")
        if "MsgId" in fields:
            yield Case("message_fields", f"{kind} with MsgId letters", *_post({**fields, "MsgId": "x1"}), "refused")
    for kind, changes in ABSURD.items():
        for label, change in changes:
            for mode in ("plain", "safe"):
                base = wx.documented()[kind]
                yield Case("message_fields", f"{kind}: {label} ({mode})", *_post({**base, **change}, mode), "either")
    for label, change in GENERIC_ABSURD:
        for kind in ("text", "CLICK", "LOCATION", "unsubscribe"):
            base = wx.documented()[kind]
            yield Case("message_fields", f"{kind}: {label}", *_post({**base, **change}),
                       "refused" if label in REFUSED_GENERIC else "either")


GROUPS = {
    "signature": signature_cases, "timestamp": timestamp_cases, "wrong_appid": appid_cases,
    "ciphertext": ciphertext_cases, "xml": xml_cases, "size": size_cases, "encoding": encoding_cases,
    "content_type": content_type_cases, "message_fields": field_cases,
}


def corpus() -> list[Case]:
    return [case for make in GROUPS.values() for case in make()]

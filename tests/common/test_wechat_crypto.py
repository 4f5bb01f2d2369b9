"""WeChat's message cryptography as the webhook owns it, proven byte for byte against
wechatpy (WeChat's side), and stricter than wechatpy where wechatpy is loose."""
from __future__ import annotations

import base64
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.utils import WeChatSigner

from functions.common.wechat import crypto, protocol

TOKEN, AES_KEY, APPID = "tok", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx1234567890abcdef"
CIPHER = crypto.MessageCipher(AES_KEY, APPID)
MESSAGE = "<xml><ToUserName><![CDATA[o_1]]></ToUserName><Content><![CDATA[您好]]></Content></xml>"


class FixedPrefix(PrpCrypto):
    """wechatpy's cipher with the 16 "random" bytes chosen, to compare ciphertexts."""

    def __init__(self, key: bytes, prefix: str):
        super().__init__(key)
        self.prefix = prefix

    def get_random_string(self) -> str:
        return self.prefix


def _wechatpy_key() -> bytes:
    return WeChatCrypto(TOKEN, AES_KEY, APPID).key


@given(parts=st.lists(st.text(max_size=40), min_size=1, max_size=5))
def test_signatures_are_wechatpys(parts):
    signer = WeChatSigner()
    signer.add_data(*parts)
    assert crypto.signature(*parts) == signer.signature


@settings(max_examples=60)
@given(message=st.text(max_size=700), prefix=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=16,
                                                       max_size=16))
def test_encryption_is_wechatpys_byte_for_byte(message, prefix):
    ours = CIPHER.encrypt(message.encode(), prefix.encode())
    assert ours == FixedPrefix(_wechatpy_key(), prefix).encrypt(message, APPID).decode()
    assert CIPHER.decrypt(ours) == message.encode()


def test_the_encrypted_reply_is_wechatpys_byte_for_byte(monkeypatch):
    prefix, nonce, timestamp = "0123456789abcdef", "n0nce", "1700000000"
    monkeypatch.setattr(PrpCrypto, "get_random_string", lambda self: prefix)
    expected = WeChatCrypto(TOKEN, AES_KEY, APPID).encrypt_message(MESSAGE, nonce, timestamp)
    wire = protocol.Protocol(TOKEN, AES_KEY, APPID, "safe")
    assert wire.envelope(MESSAGE, timestamp, nonce, prefix.encode()) == expected


@settings(max_examples=60)
@given(message=st.text(max_size=700))
def test_what_wechat_encrypts_decrypts(message):
    encrypted = PrpCrypto(_wechatpy_key()).encrypt(message, APPID).decode()
    assert CIPHER.decrypt(encrypted) == message.encode()


def test_another_apps_ciphertext_is_refused():
    encrypted = PrpCrypto(_wechatpy_key()).encrypt(MESSAGE, "wxsomeoneelse").decode()
    with pytest.raises(crypto.CryptoError, match="AppId"):
        CIPHER.decrypt(encrypted)


@pytest.mark.parametrize("encrypted", ["", "%%%", "YWJj", base64.b64encode(b"x" * 15).decode(),
                                       base64.b64encode(b"x" * 16).decode() + "!", "QUJD RA=="])
def test_what_is_not_a_ciphertext_is_refused(encrypted):
    with pytest.raises(crypto.CryptoError):
        CIPHER.decrypt(encrypted)


def _flip_in_last_block(encrypted: str, rng: random.Random) -> str:
    raw = bytearray(base64.b64decode(encrypted))
    raw[len(raw) - 1 - rng.randrange(16)] ^= 1 << rng.randrange(8)
    return base64.b64encode(bytes(raw)).decode()


def test_a_bit_flipped_in_the_last_block_is_always_refused():
    """CBC garbles the whole last block. wechatpy reads the padding length from the last
    byte alone, so when the garbage ends in the right value (about one time in 250) it
    strips the padding and returns the message; every padding byte is checked here."""
    rng = random.Random(7)
    messages = [MESSAGE + "x" * n for n in range(32)]  # every padding length
    wechatpy = PrpCrypto(_wechatpy_key())
    accepted_by_wechatpy = 0
    for n in range(3000):
        message = messages[n % len(messages)]
        tampered = _flip_in_last_block(CIPHER.encrypt(message.encode(), rng.randbytes(16)), rng)
        with pytest.raises(crypto.CryptoError):
            CIPHER.decrypt(tampered)
        try:
            accepted_by_wechatpy += wechatpy.decrypt(tampered, APPID) == message
        except (InvalidAppIdException, UnicodeDecodeError, ValueError, struct.error):
            pass
    assert accepted_by_wechatpy > 0  # the looseness this check closes


def test_the_key_must_be_the_43_character_encoding_aes_key():
    with pytest.raises(ValueError):
        crypto.MessageCipher("short", APPID)
    with pytest.raises(ValueError):
        crypto.MessageCipher("!" * 43, APPID)

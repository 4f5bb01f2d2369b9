"""WeChat's message cryptography, on `cryptography`: the SHA-1 signatures and the AES frame
of safe and compatible mode.

Signature: SHA-1 (hex) of the parts (token, timestamp, nonce and, for `msg_signature`, the
ciphertext) sorted and joined. Frame: 16 random bytes, the message length (4 bytes,
big-endian), the message, the AppId; padded with PKCS#7 to a multiple of 32 bytes (WeChat's
block size for padding, twice AES's); AES-256-CBC under the 32-byte key that the
43-character EncodingAESKey encodes, with the key's first 16 bytes as the IV; base64.

Decryption is strict where WeChat's reference code and wechatpy are loose: base64 must be
valid, every padding byte must hold the padding length, the frame's length must fit and the
AppId must match exactly. A tampered ciphertext then never decrypts to a message.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import struct

PAD_BLOCK = 32
PREFIX_BYTES = 16
_HEADER = PREFIX_BYTES + 4


class CryptoError(ValueError):
    """A ciphertext that is not a frame sealed for this account."""


def signature(*parts: str) -> str:
    """WeChat's signature of `parts` (SHA-1 of the sorted parts, hex)."""
    # WeChat's protocol signs with SHA-1; it leaves no choice of hash
    return hashlib.sha1(b"".join(sorted(part.encode() for part in parts))).hexdigest()  # noqa: S324  # nosec B324


class MessageCipher:
    """One account's AES-256-CBC frame (EncodingAESKey and AppId)."""

    def __init__(self, encoding_aes_key: str, appid: str):
        # imported here: a plain-mode account never needs it
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error:
            raise ValueError("EncodingAESKey is not base64") from None
        if len(key) != 32:
            raise ValueError("EncodingAESKey must encode 32 bytes (43 characters)")
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))
        self._appid = appid.encode()

    def encrypt(self, message: bytes, prefix: bytes) -> str:
        """The frame of `message` with the 16 random bytes `prefix`, encrypted, base64."""
        if len(prefix) != PREFIX_BYTES:
            raise ValueError("the prefix is 16 bytes")
        frame = prefix + struct.pack(">I", len(message)) + message + self._appid
        pad = PAD_BLOCK - len(frame) % PAD_BLOCK
        encryptor = self._cipher.encryptor()
        return base64.b64encode(encryptor.update(frame + bytes([pad]) * pad) + encryptor.finalize()).decode()

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside a base64 ciphertext; CryptoError unless every check holds."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("not base64") from None
        if not raw or len(raw) % 16:
            raise CryptoError("not whole AES blocks")
        decryptor = self._cipher.decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= PAD_BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding")
        frame = plain[:-pad]
        if len(frame) < _HEADER:
            raise CryptoError("frame shorter than its header")
        (length,) = struct.unpack(">I", frame[PREFIX_BYTES:_HEADER])
        if _HEADER + length > len(frame):
            raise CryptoError("message length past the frame")
        if frame[_HEADER + length:] != self._appid:
            raise CryptoError("another AppId")
        return frame[_HEADER:_HEADER + length]

"""Personal data: KMS envelope encryption, keyed hashes for look-ups, and masking.

`seal` asks KMS for a fresh data key bound to an encryption context (e.g. the record id),
encrypts the fields with AES-256-GCM under it and keeps only the KMS-wrapped key beside the
ciphertext. A sealed blob moved to another record fails to open, because the context differs.

The context also names the feature the data was sealed for (`feature`, the function's own
PII_CONTEXT_FEATURE setting, added to whatever the caller gives): each role may use the key
only under its own feature's context (`kms:EncryptionContext:feature` in infra/iam), so a
function of one feature cannot open another's data even with the key's permission. The local
stack runs every feature in one process and sets no feature; deployed functions that seal or
open personal data must.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os

from functions.common import aws, config


def _bound(context: dict[str, str]) -> dict[str, str]:
    """The caller's context with this function's feature."""
    settings = config.settings()
    if settings.pii_context_feature:
        return {**context, "feature": settings.pii_context_feature}
    if settings.is_aws:
        raise RuntimeError("PII_CONTEXT_FEATURE is not set: this function may not seal or open personal data")
    return dict(context)


def seal(fields: dict[str, str], context: dict[str, str]) -> str:
    """Encrypt a dict of personal fields; returns an opaque string to store."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    context = _bound(context)
    key = aws.client("kms").generate_data_key(
        KeyId=config.settings().pii_kms_key_id, KeySpec="AES_256", EncryptionContext=context
    )
    nonce = os.urandom(12)
    aad = json.dumps(context, sort_keys=True).encode()
    ciphertext = AESGCM(key["Plaintext"]).encrypt(nonce, json.dumps(fields).encode(), aad)
    parts = (key["CiphertextBlob"], nonce, ciphertext)
    return "v1." + ".".join(base64.urlsafe_b64encode(p).decode() for p in parts)


def unseal(blob: str, context: dict[str, str]) -> dict[str, str]:
    """Decrypt what `seal` returned, under the same encryption context."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    context = _bound(context)
    version, wrapped, nonce, ciphertext = blob.split(".")
    if version != "v1":
        raise ValueError("unknown sealed-data version")
    raw = [base64.urlsafe_b64decode(p) for p in (wrapped, nonce, ciphertext)]
    key = aws.client("kms").decrypt(CiphertextBlob=raw[0], EncryptionContext=context)["Plaintext"]
    aad = json.dumps(context, sort_keys=True).encode()
    return json.loads(AESGCM(key).decrypt(raw[1], raw[2], aad))


def keyed_hash(value: str, purpose: str) -> str:
    """HMAC-SHA256 of a normalised value, for equality look-ups without the plaintext.
    `purpose` separates hash spaces (an ID number hash never equals a phone hash)."""
    key = config.secret("PII_HASH_KEY").encode()
    message = f"{purpose}:{value.strip().upper()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def mask_name(name: str) -> str:
    """The family name's first character and two stars, whatever the name's length, so the
    mask tells nothing of it: 王五, 王小明 → 王**, 欧阳明月 → 欧**; a one-character name → **."""
    name = name.strip()
    return f"{name[:1]}**" if len(name) > 1 else "**"


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678."""
    digits = "".join(ch for ch in phone if ch.isdigit())[-11:]
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"


def mask_id_number(id_number: str) -> str:
    """330203199001011234 → 3302**********1234."""
    value = id_number.strip()
    return f"{value[:4]}{'*' * (len(value) - 8)}{value[-4:]}" if len(value) > 8 else "****"


def mask_card(last4: str) -> str:
    """Cards are shown by their last four digits only: ····1234."""
    return f"····{last4[-4:]}"

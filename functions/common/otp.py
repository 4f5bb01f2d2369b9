"""One-time codes by SMS: the rules every feature that asks for one applies (binding a card
in notify, the step-up of a purchase in products). A code is 6 digits, valid 5 minutes,
5 tries; only its keyed hash is stored, under the subject it was sent for (an openid), so
a code typed by another customer never matches. Where each feature keeps its codes and
counts its limits is its own (its table); the rules, the hash and the answers are these.
"""
from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Protocol, TypeVar

from functions.common import clock, pii
from functions.common.errors import ApiError, FieldError, ValidationFailed

TTL_S = 300
TRIES = 5
RESEND_S = 60  # one code a minute; the pages' "send code" button counts this down
PER_OPENID_DAY = 10  # codes a customer may ask for in a day, whatever for
HASH_PURPOSE = "otp"


class Stored(Protocol):
    """A code as a feature keeps it (its tries as counted by the last `spend_try`)."""

    @property
    def code_hash(self) -> str: ...

    @property
    def expires_at(self) -> float: ...

    @property
    def tries(self) -> float: ...


S = TypeVar("S", bound=Stored)


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def code_hash(subject: str, code: str) -> str:
    return pii.keyed_hash(f"{subject}:{code}", HASH_PURPOSE)


def typed(code: str) -> str | None:
    """A one-time code as typed: six digits, or None."""
    code = str(code or "").strip()
    return code if len(code) == 6 and code.isdigit() else None


def verify(stored: S | None, subject: str, code: str, spend_try: Callable[[S], bool],
           discard: Callable[[], None]) -> None:
    """Check a typed code against the stored one; each attempt spends one of its tries
    (`spend_try`: atomic, False once they are spent) and a locked code is discarded. Raises
    the answer the customer sees; returns when the code matches (the caller then discards it)."""
    entered = typed(code)
    if entered is None:
        raise ValidationFailed([FieldError("code", "invalid_code", "请输入6位数字验证码")])
    if stored is None or stored.expires_at <= clock.epoch():
        raise ApiError(400, "otp_expired", "验证码已失效，请重新获取")
    if not spend_try(stored):
        discard()
        raise ApiError(400, "otp_locked", "验证码错误次数过多，请重新获取")
    if not hmac.compare_digest(stored.code_hash, code_hash(subject, entered)):
        left = TRIES - int(stored.tries)
        if left <= 0:
            discard()
            raise ApiError(400, "otp_locked", "验证码错误次数过多，请重新获取")
        raise ApiError(400, "otp_wrong", f"验证码错误，还可尝试{left}次")

"""Binding a bank card to an openid: the card number and the mobile number on file, then a
one-time code by SMS. Only the card's last four digits and its keyed hash are kept.

One-time codes: 6 digits, valid 5 minutes, 5 tries; requests are rate-limited per mobile
number and per openid whether or not the card matches, so the form cannot be used to probe
which card belongs to which number.
"""
from __future__ import annotations

import hmac
import os
import secrets
from typing import Any

from functions.common import clock, pii, session
from functions.common.errors import ApiError, NotFound, TooManyRequests, Validator
from functions.notify import corebank, delivery, store

OTP_TTL_S = 300
OTP_TRIES = 5
# (scope, limit, window seconds)
PHONE_LIMITS = (("phone-min", 1, 60), ("phone-hour", 5, 3600))
OPENID_LIMITS = (("openid-day", 10, 86400),)


def _normalise_card(value: str) -> str:
    return "".join(ch for ch in str(value or "") if not ch.isspace())


def _normalise_phone(value: str) -> str | None:
    import phonenumbers

    try:
        number = phonenumbers.parse(str(value or ""), "CN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
        return None
    return str(number.national_number)


def _code_hash(openid: str, code: str) -> str:
    return pii.keyed_hash(f"{openid}:{code}", "otp")


def request_code(openid: str, card_number: str, phone: str) -> dict[str, Any]:
    """Check the card and the mobile on file and text a one-time code to it."""
    from stdnum import luhn

    card, mobile = _normalise_card(card_number), _normalise_phone(phone)
    check = Validator()
    if not (card.isdigit() and 13 <= len(card) <= 19 and luhn.is_valid(card)):
        check.add("card_number", "invalid_card", "请输入正确的银行卡号")
    if mobile is None:
        check.add("phone", "invalid_phone", "请输入正确的手机号码")
    check.check()
    assert mobile is not None
    phone_key = corebank.phone_hash(mobile)
    for scope, limit, window in PHONE_LIMITS:
        if not store.take(scope, phone_key, limit, window):
            raise TooManyRequests("otp_rate_limited", "验证码发送过于频繁，请稍后再试")
    for scope, limit, window in OPENID_LIMITS:
        if not store.take(scope, openid, limit, window):
            raise TooManyRequests("otp_rate_limited", "今日获取验证码次数过多，请明天再试")
    found = corebank.find_card(corebank.card_hash(card))
    if found is None or corebank.phone_hash_of(found.customer_id) != phone_key:
        raise ApiError(400, "card_phone_mismatch", "卡号与预留手机号不匹配")
    code = f"{secrets.randbelow(10**6):06d}"
    store.save_otp(openid, _code_hash(openid, code), found.customer_id, found.card_hash, found.last4, OTP_TTL_S)
    sign = os.environ.get("NOTIFY_SMS_SIGN", "【甬城银行】")
    delivery.send_sms(mobile, f"{sign}验证码{code}，5分钟内有效，用于绑定尾号{found.last4}的银行卡，请勿告诉他人。")
    return {"card": pii.mask_card(found.last4), "phone": pii.mask_phone(mobile), "expires_in": OTP_TTL_S}


def confirm(openid: str, code: str) -> dict[str, Any]:
    """Bind the card once the code matches; each attempt spends one of the code's tries."""
    code = str(code or "").strip()
    if not (len(code) == 6 and code.isdigit()):
        check = Validator()
        check.add("code", "invalid_code", "请输入6位数字验证码")
        check.check()
    otp = store.get_otp(openid)
    if otp is None or otp.expires_at <= clock.epoch():
        raise ApiError(400, "otp_expired", "验证码已失效，请重新获取")
    if not store.spend_try(otp, OTP_TRIES):
        store.delete_otp(openid)
        raise ApiError(400, "otp_locked", "验证码错误次数过多，请重新获取")
    if not hmac.compare_digest(otp.code_hash, _code_hash(openid, code)):
        left = OTP_TRIES - otp.tries
        if left <= 0:
            store.delete_otp(openid)
            raise ApiError(400, "otp_locked", "验证码错误次数过多，请重新获取")
        raise ApiError(400, "otp_wrong", f"验证码错误，还可尝试{left}次")
    store.delete_otp(openid)
    return view(store.bind(openid, otp.customer_id, otp.card_hash, otp.card_last4))


def unbind(openid: str, binding_id: str) -> None:
    held = store.bindings_of(openid)
    for binding in held:
        if binding_id and view(binding)["id"] == binding_id:
            store.unbind(openid, binding.card_hash)
            if len(held) == 1:  # the last card: the customer's sessions end with it
                session.end_all(openid)
            return
    raise NotFound("未找到该绑定卡")


def bindings(openid: str) -> list[dict[str, Any]]:
    return [view(b) for b in store.bindings_of(openid)]


def view(binding: store.Binding) -> dict[str, Any]:
    return {"id": binding.card_hash[:16], "card": pii.mask_card(binding.card_last4), "last4": binding.card_last4,
            "active": binding.active, "bound_at": clock.show_time(binding.bound_at)}

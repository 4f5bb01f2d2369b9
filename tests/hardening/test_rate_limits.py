"""Rate limits on OTP codes, applications and bookings, per openid and per mobile number:
many openids cannot share one phone to get round a per-openid limit, and one openid cannot
cycle phones to get round a per-phone one."""
from __future__ import annotations

import json
from datetime import timedelta

from chalice.test import Client

from functions.common import clock
from tests.hardening import apps
from tests.hardening.conftest import customer, record
from tests.hardening.test_faults import (
    SLOTS,
    _card,
    world,  # noqa: F401 - the same branch, managers and clock
)


def _otp(notify, openid, card, phone):
    return notify.http.post("/notify/api/otp", headers=customer(openid), body=json.dumps(
        {"card_number": card, "phone": phone}))


def test_otp_per_phone_and_per_openid(world, frozen_clock, monkeypatch):  # noqa: F811
    from functions.notify import sms

    monkeypatch.setattr(sms, "send", lambda phone, message: "m")
    notify = Client(apps.app("notify"))
    start = clock.now()
    world.add_customer("CR001", "限流客户", "13900009999")
    card = _card(77)
    world.add_card("CR001", card)
    # one phone: one code a minute, whoever asks
    assert _otp(notify, "o_rl_a", card, "13900009999").status_code == 200
    assert _otp(notify, "o_rl_b", card, "13900009999").status_code == 429
    # and five an hour
    sent = 1
    for minute in range(1, 10):
        frozen_clock(start + timedelta(minutes=minute * 2))
        sent += _otp(notify, f"o_rl_{minute}", card, "13900009999").status_code == 200
    assert sent == 5
    # one openid: ten a day, across phones (the card need not match: probing costs too)
    frozen_clock(start + timedelta(hours=2))
    codes = [_otp(notify, "o_rl_many", card, f"1390001{n:04d}").status_code for n in range(12)]
    assert codes.count(429) == 2 and codes[:10].count(429) == 0
    record("rate_otp", "Rate limits: OTP per phone (1/min, 5/h) and per openid (10/day)", 2 + 9 + 12,
           "held: 429 past each limit, probing with a wrong card counts too")


def _book(booking, openid, slot, phone="13812345678"):
    from tests.booking.conftest import form

    return booking.http.post("/booking/api/bookings", headers=customer(openid),
                             body=json.dumps(form(slot_start=slot, mobile=phone)))


def test_bookings_per_openid(world):  # noqa: F811
    booking = Client(apps.app("booking"))
    codes = [_book(booking, "o_rl_booker", slot).status_code for slot in SLOTS[:5]]
    assert codes == [201, 201, 201, 409, 409]
    record("rate_booking_openid", "Rate limits: upcoming bookings per openid (3)", 5, "held: the 4th is 409")


def test_bookings_per_phone(world):  # noqa: F811
    booking = Client(apps.app("booking"))
    answers = [_book(booking, f"o_rl_phone{n}", SLOTS[n], phone="13812340000") for n in range(5)]
    assert [a.status_code for a in answers] == [201, 201, 201, 409, 409]
    assert {a.json_body["code"] for a in answers[3:]} == {"phone_limit"}
    record("rate_booking_phone", "Rate limits: upcoming bookings per mobile number across openids (3)", 5,
           "held: the 4th is 409 `phone_limit`, whichever openid asks")


def _apply(loans, openid, key, **fields):
    from tests.loan_apply.conftest import form

    return loans.http.post("/loans/api/applications", headers={**customer(openid), "Idempotency-Key": key},
                           body=json.dumps(form(**fields)))


def test_applications_per_openid(world):  # noqa: F811
    from datetime import date

    from tests.loan_apply.conftest import resident_id

    loans = Client(apps.app("loan_apply"))
    codes = [_apply(loans, "o_rl_loans", f"rl-key-{n:04d}", id_number=resident_id(date(1980 + n, 1, 2)),
                    phone=f"1370000{n:04d}").status_code for n in range(5)]
    assert codes[:3] == [201, 201, 201] and codes[3:] == [429, 429]
    record("rate_loans_openid", "Rate limits: applications per openid per day (3)", 5, "held: the 4th is 429")


def test_applications_per_phone(world):  # noqa: F811
    from datetime import date

    from tests.loan_apply.conftest import resident_id

    loans = Client(apps.app("loan_apply"))
    answers = [_apply(loans, f"o_rl_lp{n}", f"rl-lp-{n:04d}", id_number=resident_id(date(1970 + n, 3, 4)),
                      phone="13700009999") for n in range(6)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429, 429, 429]
    assert {a.json_body["code"] for a in answers[3:]} == {"phone_daily_limit"}
    record("rate_loans_phone", "Rate limits: applications per mobile number per day across openids (3)", 6,
           "held: the 4th is 429 `phone_daily_limit`, whichever openid asks")

"""Journeys that depend on the hour and the day, over HTTP against the local stack
(tests/e2e/conftest.py), its clock moved to each named time (tests/named_times.py): the
slots offered (an hour ahead at least, none after the day's last), the booking confirmation
(sent at once, day or night), the 18:00 reminders for tomorrow's bookings (held through
notify's quiet hours, 21:00-08:00), and card alerts (sent at once, day or night)."""
from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta

import pytest
import requests

from functions.common import clock, session
from infra.local.simulator.outbox import wechat_messages
from tests import sessions
from tests.named_times import FIRST_SLOT, NAMED_TIMES, QUIET_UNTIL

# one stack, its clock moved
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("e2e-time-of-day")]

BRANCH = "HS01"
SERVICE = "account"


@pytest.fixture
def named(local_stack, request) -> str:
    """The stack's clock moved to the named time the test is parametrized with."""
    local_stack.set_clock(clock.parse_setting(request.param))
    return request.param


@pytest.fixture
def customer(named) -> tuple[str, requests.Session]:
    """A new customer's openid and a browser-like session logged in as them at that time."""
    openid = "o_e2e_" + secrets.token_hex(6)
    http = requests.Session()
    log_in(http, openid)
    return openid, http


def log_in(http: requests.Session, openid: str) -> None:
    """A session as the OAuth callback starts it, good for 30 minutes of the clock."""
    signed = sessions.signed_in(openid)
    http.cookies.set(session.COOKIE, signed.cookie_value)
    http.headers["X-CSRF-Token"] = signed.csrf_token


def first_slot(stack, http: requests.Session) -> str:
    """The first slot the booking API offers at BRANCH, looking day by day."""
    for offset in range(15):
        day = (clock.local() + timedelta(days=offset)).date().isoformat()
        res = http.get(f"{stack.url}/booking/api/slots", params={"branch_id": BRANCH, "service": SERVICE,
                                                                  "date": day}, timeout=20)
        if res.status_code == 200 and res.json()["slots"]:
            return res.json()["slots"][0]["start"]
    raise AssertionError("no bookable slot in the next 14 days")


def titles(stack, openid: str) -> list[str]:
    return [m["title"] for m in wechat_messages(stack.url, openid) if m["kind"] == "template"]


def next_six_pm(after: datetime) -> datetime:
    local = clock.local(after)
    day = local.date() if local.time() < time(18) else local.date() + timedelta(days=1)
    return datetime.combine(day, time(18), tzinfo=clock.SHANGHAI)


@pytest.mark.parametrize("named", NAMED_TIMES, indirect=True)
def test_a_booking_at_each_named_time(local_stack, customer, named):
    """Book the first slot offered; the confirmation goes out at once, day or night. A
    booking for tomorrow is reminded of at the 18:00 run, or, made after it, at once (held
    until 08:00 in notify's quiet hours)."""
    openid, http = customer
    start = first_slot(local_stack, http)
    assert clock.show_time(clock.parse_utc(start)) == FIRST_SLOT[named]
    res = http.post(f"{local_stack.url}/booking/api/bookings", timeout=20, json={
        "branch_id": BRANCH, "service": SERVICE, "slot_start": start, "name": "王小明",
        "mobile": "1380574" + "".join(secrets.choice("0123456789") for _ in range(4))})
    assert res.status_code == 201, res.text
    booking = res.json()["booking"]["id"]

    local_stack.drain_queues()
    assert titles(local_stack, openid) == ["预约成功"]
    if named in QUIET_UNTIL:  # booked for tomorrow after the 18:00 run, at night: reminded in the morning
        local_stack.set_clock(clock.parse_setting(QUIET_UNTIL[named]))
        local_stack.fire_schedule("notifyPending")
        local_stack.drain_queues()
        assert titles(local_stack, openid) == ["预约成功", "预约提醒"]

    six_pm = next_six_pm(clock.now())
    local_stack.set_clock(six_pm)
    local_stack.fire_schedule("bookingReminders")
    local_stack.drain_queues()
    reminded = named in QUIET_UNTIL or clock.local(clock.parse_utc(start)).date() == six_pm.date() + timedelta(days=1)
    assert titles(local_stack, openid) == (["预约成功", "预约提醒"] if reminded else ["预约成功"])

    if clock.parse_utc(start) - clock.now() > timedelta(hours=1):  # free the slot for the other times
        log_in(http, openid)  # hours have passed since the booking
        assert http.post(f"{local_stack.url}/booking/api/bookings/{booking}/cancel", json={},
                         timeout=20).status_code == 200


@pytest.mark.parametrize("named", [p for p in NAMED_TIMES if p.id in ("mon-0900", "mon-2330")], indirect=True)
def test_a_card_alert_goes_out_at_once_day_or_night(local_stack, named):
    from infra.local.demo.notify import CUSTOMERS

    customer_id, _, _, cards, openids = CUSTOMERS[0]
    before = titles(local_stack, openids[0])
    res = requests.post(f"{local_stack.url}/_local/simulator/api/bank", timeout=20, json={
        "openid": openids[0], "kind": "transaction", "customer_id": customer_id, "card_last4": cards[0][-4:],
        "amount_yuan": "88", "merchant": "宁波银泰百货"})
    assert res.status_code == 200, res.text
    local_stack.drain_queues()
    assert titles(local_stack, openids[0]) == [*before, "交易提醒"]

"""At most three upcoming bookings per mobile number, whichever openids hold them: kept in
a ledger under the number's keyed hash, written in the same transaction as the booking."""
import json
from datetime import datetime, timedelta

import pytest

from functions.booking import actions, store
from functions.common import clock, pii
from functions.common.dynamo import expires_at
from functions.common.errors import ApiError
from tests.aws_clients import clients
from tests.booking.conftest import MANAGER, customer, form
from tests.booking.test_concurrency import run_all
from tests.conftest import queued

PHONE = "13812340000"
# Tuesday 09:00, 10:00, 11:00 in Ningbo, then Thursday 09:00 and Friday 09:00
SLOTS = ["2026-12-01T01:00:00Z", "2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z",
         "2026-12-03T01:00:00Z", "2026-12-04T01:00:00Z"]


def at(slot: str) -> datetime:
    return clock.parse_utc(slot)


def error_of(call, *args) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args)
    return caught.value


def fill(phone: str = PHONE) -> list[store.Booking]:
    """Three customers book with one mobile number."""
    return [actions.create(f"o{n}", form(slot_start=SLOTS[n], mobile=phone)) for n in range(3)]


def mobile_ledger(phone: str = PHONE) -> store.Ledger:
    return store.mobile_ledger(pii.keyed_hash(phone, "phone"))


def raw_items() -> list[dict]:
    import os

    return clients.client("dynamodb").scan(TableName=os.environ["TABLE_BOOKINGS"], ConsistentRead=True)["Items"]


def test_a_fourth_booking_with_one_mobile_number_is_refused_whoever_asks(world):
    made = fill()
    queued(world)
    before = raw_items()
    refused = error_of(actions.create, "o9", form(slot_start=SLOTS[3], mobile=PHONE))
    assert (refused.status, refused.code) == (409, "phone_limit")
    assert [(f.field, f.code) for f in refused.fields] == [("mobile", "phone_limit")]
    assert "该手机号码最多可同时保留3个预约" in refused.message
    # nothing stored: no booking, no seat, no ledger for o9, the number's ledger unchanged, no event
    assert raw_items() == before
    assert store.of_user("o9") == [] and store.ledger("o9").version is None
    assert store.counter("T01", at(SLOTS[3]), "wealth") == 0
    assert mobile_ledger().upcoming == {b.id: b.slot_start for b in made}
    assert queued(world) == []
    # the same customer with another number is not held back by this one
    actions.create("o9", form(slot_start=SLOTS[3], mobile="13812340001"))


def test_the_number_is_normalised_before_it_is_counted(world):
    fill()
    refused = error_of(actions.create, "o9", form(slot_start=SLOTS[3], mobile="+86 138 1234 0000"))
    assert refused.code == "phone_limit"


def test_the_ledger_is_keyed_by_the_keyed_hash_never_the_number(world):
    made = fill()
    digest = pii.keyed_hash(PHONE, "phone")
    assert all(store.get(b.id).mobile_hash == digest for b in made)
    keys = {item["pk"]["S"] for item in raw_items()}
    assert f"PHONE#{digest}" in keys
    assert PHONE not in json.dumps(raw_items())


def test_a_cancelled_booking_frees_its_place_for_the_number(world):
    made = fill()
    actions.cancel("o1", made[1].id)
    assert made[1].id not in mobile_ledger().upcoming
    booked = actions.create("o9", form(slot_start=SLOTS[3], mobile=PHONE))
    assert set(mobile_ledger().upcoming) == {made[0].id, made[2].id, booked.id}


def test_a_rescheduled_booking_moves_in_the_ledger_and_still_counts(world):
    made = fill()
    moved = actions.reschedule("o0", made[0].id, SLOTS[4])
    assert mobile_ledger().upcoming[made[0].id] == SLOTS[4] == moved.slot_start
    assert len(mobile_ledger().upcoming) == 3
    assert error_of(actions.create, "o9", form(slot_start=SLOTS[3], mobile=PHONE)).code == "phone_limit"


def test_an_outcome_recorded_by_staff_frees_the_place(world, frozen_clock):
    made = fill()
    frozen_clock(at(SLOTS[0]) + timedelta(minutes=10))
    actions.mark(MANAGER, made[0].id, "attended")
    assert set(mobile_ledger().upcoming) == {made[1].id, made[2].id}


def test_past_bookings_no_longer_count_and_the_ledger_expires_after_its_last_slot(world, frozen_clock):
    fill()
    assert mobile_ledger().expires_at == expires_at(at(SLOTS[2]) + store.KEEP_SLOT_ITEMS)
    frozen_clock(at(SLOTS[0]) + timedelta(minutes=5))  # the first one has started
    booked = actions.create("o9", form(slot_start=SLOTS[3], mobile=PHONE))
    assert len(mobile_ledger().upcoming) == 3 and booked.id in mobile_ledger().upcoming


def test_the_json_api_names_the_mobile_field(world, client):
    fill()
    response = client.http.post("/booking/api/bookings", headers=customer("o9"),
                                body=json.dumps(form(slot_start=SLOTS[3], mobile=PHONE)))
    assert response.status_code == 409
    assert response.json_body["code"] == "phone_limit"
    assert response.json_body["fields"][0]["field"] == "mobile"


def test_the_form_shows_the_refusal_at_the_mobile_field(world, client):
    from urllib.parse import urlencode

    fill()
    fields = {**form(slot_start=SLOTS[3], mobile=PHONE), "date": "2026-12-03"}
    response = client.http.post("/booking/new", headers=customer("o9", form=True), body=urlencode(fields))
    assert response.status_code == 409
    html = response.body.decode()
    assert 'data-code="phone_limit"' in html and 'data-field="mobile"' in html and "该手机号码最多可同时保留" in html
    assert f'value="{PHONE}"' in html  # the form comes back filled in


def test_four_customers_racing_with_one_number_get_three_bookings(world, atomic_moto):
    atomic_moto.gate(4)
    results = run_all([lambda n=n: actions.create(f"o{n}", form(slot_start=SLOTS[n], mobile=PHONE))
                       for n in range(4)])
    booked = [r for r in results if isinstance(r, store.Booking)]
    assert len(booked) == 3
    assert [r.code for r in results if isinstance(r, ApiError)] == ["phone_limit"]
    assert set(mobile_ledger().upcoming) == {b.id for b in booked}
    assert sum(store.counter("T01", at(s), "wealth") for s in SLOTS[:4]) == 3

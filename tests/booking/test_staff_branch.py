"""A customer manager works their own branch's bookings only (the branch claim of their
identity), and every outcome they record goes on the audit trail with the booking."""
from __future__ import annotations

import json
import os
from datetime import datetime, timedelta

from functions.booking import actions, store
from tests.aws_clients import clients
from tests.booking.conftest import TUE_0900, UTC, form, staff
from tests.booking.test_routes import post_json
from tests.staff_tokens import subject_of

DAY = "/booking/staff/branches/{}/bookings?date=2026-12-01"


def trail() -> list[dict]:
    items = clients.client("dynamodb").scan(TableName=os.environ["TABLE_AUDIT"], ConsistentRead=True)["Items"]
    return [{k: next(iter(v.values())) for k, v in item.items()} for item in items]


def test_a_manager_of_another_branch_or_of_none_sees_nothing_and_marks_nothing(world, client, frozen_clock):
    booking = actions.create("o1", form())
    assert client.http.get(DAY.format("T01"), headers=staff("T01")).status_code == 200
    frozen_clock(TUE_0900 + timedelta(minutes=10))
    for headers in (staff("T02", "manager-2"), staff("t01", "manager-3"), staff(None, "manager-0")):
        listed = client.http.get(DAY.format("T01"), headers=headers)
        assert listed.status_code == 403 and json.loads(listed.body)["code"] == "other_branch"
        assert "张" not in listed.body.decode()
        marked = post_json(client, f"/booking/staff/bookings/{booking.id}/outcome", {"status": "attended"}, headers)
        assert marked.status_code == 403 and json.loads(marked.body)["code"] == "other_branch"
    assert store.get(booking.id).status == "confirmed" and trail() == []


def test_an_outcome_is_recorded_on_the_audit_trail_with_the_booking(world, client, frozen_clock):
    booking = actions.create("o1", form())
    frozen_clock(datetime(2026, 12, 1, 1, 10, tzinfo=UTC))
    marked = post_json(client, f"/booking/staff/bookings/{booking.id}/outcome", {"status": "no_show"},
                       {**staff("T01"), "User-Agent": "Console/1.0"})
    assert marked.status_code == 200
    [record] = trail()
    assert {k: record.get(k) for k in ("subject", "role", "action", "booking_id", "detail", "at", "day",
                                       "user_agent")} == {
        "subject": subject_of("manager-1"), "role": "customer_manager", "action": "booking_outcome",
        "booking_id": booking.id,
        "detail": "no_show", "at": "2026-12-01T01:10:00Z", "day": "2026-12-01", "user_agent": "Console/1.0"}
    # refused outcomes (already marked) leave no record
    again = post_json(client, f"/booking/staff/bookings/{booking.id}/outcome", {"status": "attended"}, staff("T01"))
    assert again.status_code == 409 and len(trail()) == 1


def test_an_outcome_whose_record_cannot_be_written_is_not_recorded(world, client, frozen_clock):
    booking = actions.create("o1", form())
    frozen_clock(TUE_0900 + timedelta(minutes=10))
    clients.client("dynamodb").delete_table(TableName=os.environ["TABLE_AUDIT"])
    marked = post_json(client, f"/booking/staff/bookings/{booking.id}/outcome", {"status": "attended"}, staff("T01"))
    assert marked.status_code >= 500
    assert store.get(booking.id).status == "confirmed"

"""Decrypted reads are limited per member of staff and hour (STAFF_READ_HOURLY_LIMIT):
beyond the limit the read is refused with 429 and no data, and one alert event per member
and hour goes on the notify queue."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from functions.common.errors import ApiError
from tests.conftest import queued
from tests.loan_apply.test_actions import body, submitted
from tests.loan_apply.test_audit_trail import trail
from tests.staff_tokens import member


def test_reads_beyond_the_hours_limit_are_refused_and_raise_one_alert(api, aws, setting, frozen_clock):
    setting("STAFF_READ_HOURLY_LIMIT", "3")
    _, app_id = submitted(api)
    queued(aws)
    frozen_clock(datetime(2026, 3, 15, 2, 10, tzinfo=UTC))
    for _ in range(3):
        assert api.read(app_id, staff="reviewer-1").status_code == 200
    for _ in range(2):
        refused = api.read(app_id, staff="reviewer-1")
        assert refused.status_code == 429 and body(refused)["code"] == "read_limit_reached"
        assert "张三丰" not in refused.body.decode() and "每小时最多查看3次" in body(refused)["message"]
    assert len(trail()) == 3  # refused reads open nothing, so there is nothing to record
    alerts = queued(aws)
    # notify keeps one
    reviewer = api.subject("reviewer-1")
    assert {e["id"] for e in alerts} == {f"staff_read_limit_exceeded:{reviewer}:2026-03-15T02:00:00Z"}
    assert alerts[0]["type"] == "staff_read_limit_exceeded"
    assert {k: alerts[0]["data"][k] for k in ("subject", "role", "limit", "window_start")} == {
        "subject": reviewer, "role": "loan_reviewer", "limit": 3, "window_start": "2026-03-15T02:00:00Z"}
    # another member of staff has their own hour; the next hour starts afresh
    assert api.read(app_id, staff="reviewer-2").status_code == 200
    frozen_clock(datetime(2026, 3, 15, 3, 0, tzinfo=UTC))
    assert api.read(app_id, staff="reviewer-1").status_code == 200


def test_concurrent_reads_never_pass_the_limit(api, aws, setting):
    from functions.loan_apply import actions

    setting("STAFF_READ_HOURLY_LIMIT", "4")
    _, app_id = submitted(api)
    reviewer = member("reviewer-3")

    def read(_):
        try:
            return actions.staff_read(reviewer, app_id, "credit_review")["personal"]["name"]
        except ApiError as refused:
            return refused.code

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(read, range(10)))
    assert outcomes.count("张三丰") == 4 and outcomes.count("read_limit_reached") == 6
    assert len(trail()) == 4

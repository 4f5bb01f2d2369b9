"""loan_apply on the audit trail: every decrypted read (for a reason chosen from the list)
and every decision of staff is recorded, append-only, before anything is returned; a read
that cannot be recorded returns no data."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.aws_clients import clients
from tests.loan_apply.conftest import raw_items
from tests.loan_apply.test_actions import body, submitted


def trail() -> list[dict]:
    """The audit records, oldest first, as plain values."""
    items = [{k: next(iter(v.values())) for k, v in item.items()} for item in raw_items("TABLE_AUDIT")]
    return sorted(items, key=lambda r: r["record_id"])


def test_a_decrypted_read_is_recorded_with_who_why_when_and_from_where(api, frozen_clock):
    _, app_id = submitted(api)
    frozen_clock(datetime(2026, 3, 15, 17, 30, tzinfo=UTC))  # 01:30 the next day in Ningbo
    read = api.read(app_id, "identity_check", staff="reviewer-7", **{"User-Agent": "Console/1.0"})
    assert body(read)["personal"]["name"] == "张三丰"
    [record] = trail()
    assert {k: record.get(k) for k in ("subject", "role", "action", "application_id", "reason", "at", "day",
                                       "user_agent")} == {
        "subject": api.subject("reviewer-7"), "role": "loan_reviewer", "action": "read_personal",
        "application_id": app_id,
        "reason": "identity_check", "at": "2026-03-15T17:30:00Z", "day": "2026-03-16", "user_agent": "Console/1.0"}
    assert record["source_ip"]  # the caller's address as API Gateway saw it
    assert "张三丰" not in str(record) and "13812345678" not in str(record)


@pytest.mark.parametrize(("query", "code"), [("", "required"), ("?reason=curiosity", "reason_unknown")])
def test_a_read_without_a_reason_from_the_list_is_refused_and_recorded_nowhere(api, query, code):
    _, app_id = submitted(api)
    refused = api.staff("get", f"/loans/staff/applications/{app_id}{query}")
    assert refused.status_code == 400
    assert [(f["field"], f["code"]) for f in body(refused)["fields"]] == [("reason", code)]
    assert "张三丰" not in refused.body.decode() and trail() == []


def test_a_read_whose_record_cannot_be_written_returns_no_data(api):
    import os

    _, app_id = submitted(api)
    clients.client("dynamodb").delete_table(TableName=os.environ["TABLE_AUDIT"])  # the trail is gone
    refused = api.read(app_id)
    assert refused.status_code >= 500
    assert "张三丰" not in refused.body.decode() and "13812345678" not in refused.body.decode()


def test_every_decision_is_recorded_in_the_transaction_that_makes_it(api, setting, frozen_clock):
    setting("LOAN_TWO_APPROVERS_ABOVE_FEN", "4000000")
    _, app_id = submitted(api)
    steps = [lambda: api.transition(app_id, "UNDER_REVIEW", "开始审核", staff="reviewer-1"),
             lambda: api.recommend(app_id, "approve", "收入稳定", staff="reviewer-2"),
             lambda: api.transition(app_id, "APPROVED", "同意", staff="approver-1"),
             lambda: api.transition(app_id, "APPROVED", "同意", staff="approver-1"),  # a retry: no second record
             lambda: api.transition(app_id, "APPROVED", "复核同意", staff="approver-2")]
    for minute, step in enumerate(steps):
        frozen_clock(datetime(2026, 3, 15, 3, minute, tzinfo=UTC))
        assert step().status_code == 200
    assert [(r["action"], r["subject"], r["role"], r.get("reason"), r.get("detail")) for r in trail()] == [
        ("loan_review", api.subject("reviewer-1"), "loan_reviewer", "开始审核", "UNDER_REVIEW"),
        ("loan_recommend", api.subject("reviewer-2"), "loan_reviewer", "收入稳定", "approve"),
        ("loan_approve", api.subject("approver-1"), "loan_approver", "同意", "UNDER_REVIEW"),
        ("loan_approve", api.subject("approver-2"), "loan_approver", "复核同意", "APPROVED"),
    ]
    assert {r["application_id"] for r in trail()} == {app_id}


def test_a_refused_decision_leaves_no_record(api):
    _, app_id = submitted(api)
    api.transition(app_id, "UNDER_REVIEW", "开始审核", staff="reviewer-1")
    assert api.transition(app_id, "APPROVED", "自审", staff="reviewer-1").status_code == 403
    assert [r["action"] for r in trail()] == ["loan_review"]


def test_a_decision_whose_record_cannot_be_written_is_not_made(api):
    import os

    from functions.loan_apply import store

    _, app_id = submitted(api)
    clients.client("dynamodb").delete_table(TableName=os.environ["TABLE_AUDIT"])
    assert api.transition(app_id, "UNDER_REVIEW", "开始审核").status_code >= 500
    assert store.get(app_id).status == "SUBMITTED"

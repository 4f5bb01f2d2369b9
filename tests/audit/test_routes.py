"""The audit function over HTTP (Chalice's test client on moto): auditors search the trail
that loan_apply and booking write, by application, by member of staff and by day, paged."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from chalice.test import Client

from functions.common import audit, staff
from tests.staff_tokens import member, signed_in


def auditor() -> dict[str, str]:
    return signed_in("auditor-1", staff.AUDITOR).headers


@pytest.fixture
def client(aws, frozen_clock):
    from functions.audit.app import app

    frozen_clock(datetime(2026, 3, 15, 15, 0, tzinfo=UTC))
    with Client(app) as c:
        yield c


def get(client, query: str, headers: dict | None = None):
    response = client.http.get(f"/audit/staff/records?{query}", headers=headers or auditor())
    return response.status_code, json.loads(response.body)


def write(frozen_clock, at: datetime, subject: str, application_id: str) -> None:
    frozen_clock(at)
    audit.write(audit.record(member(subject), staff.LOAN_REVIEWER, audit.READ_PERSONAL,
                             application_id=application_id, reason="credit_review"))


def test_auditors_find_records_by_application_by_staff_and_by_day(client, frozen_clock):
    write(frozen_clock, datetime(2026, 3, 15, 15, 0, tzinfo=UTC), "reviewer-1", "LA1")  # 23:00 on the 15th
    write(frozen_clock, datetime(2026, 3, 15, 16, 30, tzinfo=UTC), "reviewer-2", "LA1")  # 00:30 on the 16th
    write(frozen_clock, datetime(2026, 3, 16, 2, 0, tzinfo=UTC), "reviewer-1", "LA2")

    def found(query: str) -> list[tuple[str, str]]:
        status, answer = get(client, query)
        assert status == 200
        return [(r["subject"], r["application_id"]) for r in answer["items"]]

    assert found("application_id=LA1") == [("reviewer-1", "LA1"), ("reviewer-2", "LA1")]
    assert found("staff=reviewer-1") == [("reviewer-1", "LA1"), ("reviewer-1", "LA2")]
    assert found("day=2026-03-16") == [("reviewer-2", "LA1"), ("reviewer-1", "LA2")]  # Asia/Shanghai days
    assert found("day=2026-03-17") == []
    _, answer = get(client, "application_id=LA1")
    first = answer["items"][0]
    assert first["action"] == "read_personal" and first["reason"] == "credit_review"
    assert first["at"] == "2026-03-15T15:00:00Z" and first["role"] == "loan_reviewer"
    assert first["source_ip"] == "198.51.100.7" and first["user_agent"] == "pytest"


def test_pages_follow_the_cursor(client, frozen_clock):
    for minute in range(5):
        write(frozen_clock, datetime(2026, 3, 15, 3, minute, tzinfo=UTC), "reviewer-1", f"LA{minute}")
    seen, cursor = [], ""
    while True:
        status, answer = get(client, f"staff=reviewer-1&limit=2{cursor}")
        assert status == 200 and len(answer["items"]) <= 2
        seen += [r["application_id"] for r in answer["items"]]
        if not answer["cursor"]:
            break
        cursor = f"&cursor={answer['cursor']}"
    assert seen == [f"LA{m}" for m in range(5)]


def test_a_bad_query_is_refused_field_by_field(client):
    status, answer = get(client, "application_id=LA1&staff=reviewer-1&limit=500")
    assert status == 400
    assert [(f["field"], f["code"]) for f in answer["fields"]] == [("query", "query_ambiguous"),
                                                                   ("limit", "limit_invalid")]


def test_no_staff_identity_no_records(client):
    assert client.http.get("/audit/staff/records?day=2026-03-15").status_code == 401


def test_a_loan_decision_and_read_made_through_loan_apply_are_found_by_application(client, frozen_clock):
    from functions.loan_apply import actions as loans
    from tests.loan_apply.conftest import form

    frozen_clock(datetime(2026, 3, 15, 2, 0, tzinfo=UTC))
    app_id = loans.submit("o_audit", form(), "audit-key-0001")["application"]["application_id"]
    loans.staff_read(member("reviewer-1"), app_id, "identity_check")
    loans.staff_transition(member("reviewer-1"), app_id, "UNDER_REVIEW", "资料齐全")
    _, answer = get(client, f"application_id={app_id}")
    assert sorted(r["action"] for r in answer["items"]) == ["loan_review", "read_personal"]
    assert "张三丰" not in json.dumps(answer, ensure_ascii=False)

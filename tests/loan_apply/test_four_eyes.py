"""Four eyes over HTTP (Chalice's test client on moto): the reviewer never decides, above the
configured amount two different approvers must approve, one rejection decides, and the
history shows every step with the verified subject and role."""
from __future__ import annotations

import json

import pytest

from tests.conftest import queued
from tests.loan_apply.test_actions import body, submitted


def staff_history(api, app_id: str) -> list[tuple]:
    read = body(api.staff("get", f"/loans/staff/applications/{app_id}?reason=credit_review"))
    return [(h["step"], h["actor"], h["actor_role"], h["to"]) for h in read["history"]]


def test_a_reviewer_who_approves_their_own_review_is_refused_and_nothing_changes(api, aws):
    _, app_id = submitted(api)
    assert api.transition(app_id, "UNDER_REVIEW", "开始审核", staff="reviewer-1").status_code == 200
    queued(aws)
    for target in ("APPROVED", "REJECTED"):
        refused = api.transition(app_id, target, "自审", staff="reviewer-1")
        assert refused.status_code == 403
        assert body(refused)["code"] == "approver_is_reviewer" and "审核" in body(refused)["message"]
    assert queued(aws) == []
    assert [s[0] for s in staff_history(api, app_id)] == ["submit", "review"]


def test_a_recommendation_is_recorded_and_its_author_may_not_decide_either(api, aws):
    openid, app_id = submitted(api)
    api.transition(app_id, "UNDER_REVIEW", "开始审核", staff="reviewer-1")
    queued(aws)
    recommended = api.recommend(app_id, "approve", "收入稳定，负债率低", staff="reviewer-2")
    assert recommended.status_code == 200 and body(recommended)["status"] == "UNDER_REVIEW"
    assert queued(aws) == []  # nothing the applicant hears of
    assert api.recommend(app_id, "approve", "收入稳定，负债率低", staff="reviewer-2").status_code == 200  # a retry
    refused = api.transition(app_id, "APPROVED", "同意", staff="reviewer-2")
    assert refused.status_code == 403 and body(refused)["code"] == "approver_is_reviewer"
    assert body(api.transition(app_id, "APPROVED", "同意", staff="approver-1"))["status"] == "APPROVED"
    assert staff_history(api, app_id) == [
        ("submit", openid, "applicant", "SUBMITTED"),
        ("review", api.subject("reviewer-1"), "loan_reviewer", "UNDER_REVIEW"),
        ("recommend", api.subject("reviewer-2"), "loan_reviewer", "UNDER_REVIEW"),
        ("approve", api.subject("approver-1"), "loan_approver", "APPROVED"),
    ]
    read = body(api.staff("get", f"/loans/staff/applications/{app_id}?reason=credit_review"))
    assert read["history"][2]["recommendation"] == "approve" and read["history"][2]["reason"] == "收入稳定，负债率低"
    # the applicant sees the changes of status, not staff's own steps
    mine = body(api.http.get(f"/loans/api/applications/{app_id}", headers=api.headers(openid)))
    assert [h["to"] for h in mine["history"]] == ["SUBMITTED", "UNDER_REVIEW", "APPROVED"]
    assert "收入稳定" not in json.dumps(mine, ensure_ascii=False)


def test_above_the_limit_two_different_approvers_must_approve(api, aws, setting):
    setting("LOAN_TWO_APPROVERS_ABOVE_FEN", "4000000")  # ¥40,000; the application asks ¥50,000
    openid, app_id = submitted(api)
    api.transition(app_id, "UNDER_REVIEW", "开始审核")
    queued(aws)
    first = api.transition(app_id, "APPROVED", "同意", staff="approver-1")
    assert first.status_code == 200 and body(first)["status"] == "UNDER_REVIEW"
    assert api.transition(app_id, "APPROVED", "同意", staff="approver-1").status_code == 200  # a retry
    again = api.transition(app_id, "APPROVED", "再次同意", staff="approver-1")
    assert again.status_code == 409 and body(again)["code"] == "second_approver_required"
    assert "40,000" in body(again)["message"] or "40000" in body(again)["message"]
    assert queued(aws) == []
    second = api.transition(app_id, "APPROVED", "复核同意", staff="approver-2")
    assert body(second)["status"] == "APPROVED"
    assert [e["data"]["status"] for e in queued(aws)] == ["APPROVED"]
    approvals = [("approve", api.subject("approver-1")), ("approve", api.subject("approver-2"))]
    assert [s[:2] for s in staff_history(api, app_id)][2:] == approvals


def test_at_the_limit_one_approver_decides(api, setting):
    setting("LOAN_TWO_APPROVERS_ABOVE_FEN", "5000000")  # exactly the ¥50,000 asked
    _, app_id = submitted(api)
    api.transition(app_id, "UNDER_REVIEW", "开始审核")
    assert body(api.transition(app_id, "APPROVED", "同意", staff="approver-1"))["status"] == "APPROVED"


def test_one_rejection_decides_after_a_first_approval(api, aws, setting):
    setting("LOAN_TWO_APPROVERS_ABOVE_FEN", "4000000")
    _, app_id = submitted(api)
    api.transition(app_id, "UNDER_REVIEW", "开始审核")
    api.transition(app_id, "APPROVED", "同意", staff="approver-1")
    queued(aws)
    rejected = api.transition(app_id, "REJECTED", "收入证明存疑", staff="approver-2")
    assert body(rejected)["status"] == "REJECTED"
    assert [(e["data"]["status"], e["data"]["reason"]) for e in queued(aws)] == [("REJECTED", "收入证明存疑")]


@pytest.mark.parametrize(("payload", "fields"), [
    ({}, [("recommendation", "required"), ("note", "required")]),
    ({"recommendation": "perhaps", "note": "好"}, [("recommendation", "recommendation_unknown")]),
    ({"recommendation": "reject", "note": "长" * 201}, [("note", "note_too_long")]),
])
def test_a_bad_recommendation_is_refused_field_by_field_and_nothing_is_stored(api, payload, fields):
    _, app_id = submitted(api)
    api.transition(app_id, "UNDER_REVIEW", "开始审核")
    refused = api.staff("post", f"/loans/staff/applications/{app_id}/recommendation", payload)
    assert refused.status_code == 400
    assert [(f["field"], f["code"]) for f in body(refused)["fields"]] == fields
    assert len(staff_history(api, app_id)) == 2


def test_a_recommendation_needs_an_application_under_review(api):
    _, app_id = submitted(api)
    refused = api.recommend(app_id, "approve")
    assert refused.status_code == 409 and body(refused)["code"] == "not_under_review"
    assert api.recommend("LA-missing", "approve").status_code == 404


def test_an_approver_finds_the_applications_under_review_and_decides_on_the_recommendation(api, aws):
    """The approver's queue is the applications under review; the summary shows each step
    and recommendation with personal data masked, and decrypts nothing (no audit record,
    no read counted)."""
    from functions.common import staff as roles
    from tests.loan_apply.test_audit_trail import trail

    _, app_id = submitted(api)
    _, waiting = submitted(api, 1)  # still submitted: the reviewers' queue, not the approver's
    api.transition(app_id, "UNDER_REVIEW", "开始审核", staff="reviewer-1")
    api.recommend(app_id, "approve", "收入稳定，负债率低", staff="reviewer-2")
    approver = {"staff": "approver-1", "role": roles.LOAN_APPROVER}
    queue = body(api.staff("get", "/loans/staff/applications?status=UNDER_REVIEW", **approver))
    assert [item["application_id"] for item in queue["items"]] == [app_id]
    summary = body(api.staff("get", f"/loans/staff/applications/{app_id}/summary", **approver))
    assert summary["name"] == "张**" and "personal" not in summary and "张三丰" not in json.dumps(summary)
    assert [(h["step"], h["recommendation"]) for h in summary["history"]] == [
        ("submit", None), ("review", None), ("recommend", "approve")]
    assert "read_personal" not in {record["action"] for record in trail()}
    assert api.staff("get", "/loans/staff/applications/LA20261201A1B2C3D4E5/summary", **approver).status_code == 404
    assert waiting not in json.dumps(queue)

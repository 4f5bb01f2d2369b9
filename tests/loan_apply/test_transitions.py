"""The status workflow over the API: history, events, illegal transitions, lost updates and
the purge of rejected and withdrawn applications."""
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from functions.loan_apply import status
from tests.loan_apply.conftest import NOW, form, raw_items, resident_id
from tests.loan_apply.test_applications import body, queued_events

PATHS = {  # how each status is reached: (target, role) steps after SUBMITTED
    "SUBMITTED": [],
    "UNDER_REVIEW": [("UNDER_REVIEW", "staff")],
    "APPROVED": [("UNDER_REVIEW", "staff"), ("APPROVED", "staff")],
    "REJECTED": [("UNDER_REVIEW", "staff"), ("REJECTED", "staff")],
    "WITHDRAWN": [("WITHDRAWN", "applicant")],
}


def submitted(api, n: int = 0) -> tuple[str, str]:
    openid = f"o_applicant_{n}"
    data = form(id_number=resident_id(date(1990, 1, 1), f"{100 + n}"), phone=f"1381234{n:04d}")
    app = body(api.submit(openid, data, key=f"key-{n:08d}"))
    return openid, app["application"]["application_id"]


def move(api, openid: str, app_id: str, target: str, role: str, reason: str = "审核备注"):
    if role == "applicant":
        return api.withdraw(openid, app_id, reason)
    return api.transition(app_id, target, reason)


def reach(api, state: str, n: int) -> tuple[str, str]:
    openid, app_id = submitted(api, n)
    for target, role in PATHS[state]:
        assert move(api, openid, app_id, target, role).status_code == 200
    return openid, app_id


def current(api, openid: str, app_id: str) -> dict:
    return body(api.http.get(f"/loans/api/applications/{app_id}", headers=api.headers(openid)))


def test_review_and_approval_are_recorded_and_announced(api, aws):
    openid, app_id = submitted(api)
    assert api.transition(app_id, "UNDER_REVIEW", "开始审核", staff="reviewer-1").status_code == 200
    approved = api.transition(app_id, "APPROVED", "资信良好", staff="reviewer-2")
    assert approved.status_code == 200 and body(approved)["status"] == "APPROVED"
    history = current(api, openid, app_id)["history"]
    assert [(h["from"], h["to"], h["actor"], h["reason"], h["at"]) for h in history] == [
        (None, "SUBMITTED", openid, None, "2026-03-15T02:00:00Z"),
        ("SUBMITTED", "UNDER_REVIEW", "reviewer-1", "开始审核", "2026-03-15T02:00:00Z"),
        ("UNDER_REVIEW", "APPROVED", "reviewer-2", "资信良好", "2026-03-15T02:00:00Z"),
    ]
    events = queued_events(aws)
    assert [e["id"] for e in events] == [f"loan_status_changed:{app_id}:{n}" for n in (1, 2, 3)]
    assert [e["data"]["status"] for e in events] == ["SUBMITTED", "UNDER_REVIEW", "APPROVED"]
    assert events[-1]["data"]["reason"] == "资信良好" and events[-1]["data"]["product"] == "个人消费贷款"


def test_every_illegal_transition_is_refused_and_changes_nothing(api, aws):
    n = 0
    for state in status.ALL:
        openid, app_id = reach(api, state, n)
        n += 1
        before = current(api, openid, app_id)
        queued_events(aws)  # drain
        tried = 0
        for target in status.ALL:
            for role in (status.STAFF, status.APPLICANT):
                if status.allowed(state, target, role) or (role == status.APPLICANT and target != status.WITHDRAWN):
                    continue  # applicants can only ask to withdraw; there is no route for anything else
                # another actor and reason, so it cannot pass for a retry of the change that led here
                if role == status.STAFF:
                    response = api.transition(app_id, target, "别的原因", staff="reviewer-9")
                else:
                    response = api.withdraw(openid, app_id, "别的原因")
                assert response.status_code == 409, (state, target, role)
                assert body(response)["code"] == "illegal_transition"
                tried += 1
        assert tried > 0
        assert current(api, openid, app_id) == before
        assert queued_events(aws) == []


def test_a_repeated_change_by_the_same_actor_republishes_the_same_event(api, aws):
    openid, app_id = submitted(api)
    api.transition(app_id, "UNDER_REVIEW", "开始审核")
    again = api.transition(app_id, "UNDER_REVIEW", "开始审核")
    assert again.status_code == 200
    assert len(current(api, openid, app_id)["history"]) == 2
    ids = [e["id"] for e in queued_events(aws)]
    assert ids.count(f"loan_status_changed:{app_id}:2") == 2  # notify drops the duplicate by id


def test_conflicting_decisions_at_once_leave_exactly_one(api):
    from functions.common.errors import Conflict
    from functions.loan_apply import service

    openid, app_id = submitted(api)
    api.transition(app_id, "UNDER_REVIEW", "")

    def decide(n):
        target = ("APPROVED", "REJECTED")[n % 2]
        try:
            return service.staff_transition(f"reviewer-{n}", app_id, target, "决定")["status"]
        except Conflict as conflict:
            return conflict.code

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(decide, range(6)))
    winners = [o for o in outcomes if o in ("APPROVED", "REJECTED")]
    assert len(winners) == 1
    assert set(outcomes) - set(winners) <= {"status_changed", "illegal_transition"}
    history = current(api, openid, app_id)["history"]
    assert [h["to"] for h in history] == ["SUBMITTED", "UNDER_REVIEW", winners[0]]


def test_a_change_based_on_a_stale_read_is_refused(api):
    from functions.loan_apply import store

    _, app_id = submitted(api)
    stale = store.get(app_id)
    api.transition(app_id, "UNDER_REVIEW", "")
    entry = store.History(stale.pk, store.history_sk(3), application_id=app_id, seq=3, actor_role="staff",
                          actor="x", at="2026-03-15T02:00:00Z", from_status="SUBMITTED", to_status="UNDER_REVIEW")
    with pytest.raises(store.StaleStatus):
        store.transition(stale, entry, None)
    assert store.get(app_id).revision == 2


def test_a_rejection_needs_a_reason_and_an_unknown_status_is_bad_input(api):
    _, app_id = submitted(api)
    api.transition(app_id, "UNDER_REVIEW", "")
    no_reason = api.transition(app_id, "REJECTED", "  ")
    assert no_reason.status_code == 400 and body(no_reason)["fields"][0]["field"] == "reason"
    unknown = api.transition(app_id, "PAID_OUT", "x")
    assert unknown.status_code == 400 and body(unknown)["fields"][0]["code"] == "status_unknown"
    assert api.transition("LA-missing", "UNDER_REVIEW", "").status_code == 404


def expiries(app_id: str) -> dict[str, int | None]:
    out = {}
    for item in raw_items():
        if item["pk"]["S"] == f"APP#{app_id}" and not item["sk"]["S"].startswith("A#"):
            out[item["sk"]["S"]] = int(item["expires_at"]["N"]) if "expires_at" in item else None
    return out


@pytest.mark.parametrize(("final", "days"), [("REJECTED", None), ("WITHDRAWN", 30)])
def test_rejected_and_withdrawn_applications_expire_after_the_configured_period(api, monkeypatch, final, days):
    if days:
        monkeypatch.setenv("LOAN_PURGE_AFTER_DAYS", str(days))
    openid, app_id = reach(api, "UNDER_REVIEW", 0)
    assert set(expiries(app_id).values()) == {None}
    move(api, openid, app_id, final, "staff" if final == "REJECTED" else "applicant")
    expected = int(NOW.timestamp()) + (days or 180) * 86400
    assert expiries(app_id) == {"APP": expected, "H#0001": expected, "H#0002": expected, "H#0003": expected}


def test_approved_applications_are_kept(api):
    _, app_id = reach(api, "APPROVED", 0)
    assert set(expiries(app_id).values()) == {None}


def test_withdrawal_from_the_page_returns_to_the_application(api):
    from tests.sessions import cookie, signed_in

    openid, app_id = submitted(api)
    signed = signed_in(openid)
    headers = {**cookie(signed), "Content-Type": "application/x-www-form-urlencoded"}
    forged = api.http.post(f"/loans/mine/{app_id}/withdraw", headers=headers, body="csrf_token=nope")
    assert forged.status_code == 403
    done = api.http.post(f"/loans/mine/{app_id}/withdraw", headers=headers, body=f"csrf_token={signed.csrf_token}")
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/loans/mine/{app_id}")
    assert current(api, openid, app_id)["status"] == "WITHDRAWN"
    page = api.http.get(f"/loans/mine/{app_id}", headers=api.headers(openid)).body.decode()
    assert "已撤回" in page and "撤回申请</button>" not in page
    assert json.dumps(current(api, openid, app_id)["history"][-1]["actor_role"]) == '"applicant"'

"""What applicants and the back office do, over the API: submitting (pre-screen,
idempotency, the daily limit, ownership, personal data kept out of the table and the logs),
the status workflow (history, events, illegal transitions, lost updates, the purge of
rejected and withdrawn applications), and the back office (the staff key, the work queue,
decrypted reads and their audit trail)."""
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest

from functions.loan_apply import service
from tests.conftest import queued
from tests.loan_apply.conftest import NOW, form, raw_items, resident_id
from tests.staff_tokens import member


def body(response) -> dict:
    return json.loads(response.body)


def applications() -> list[dict]:
    return [i for i in raw_items() if i["sk"]["S"] == "APP"]


def test_submit_stores_a_masked_prescreened_application_and_announces_it(api, aws):
    response = api.submit("o_alice", form())
    assert response.status_code == 201
    result = body(response)
    app = result["application"]
    assert result["replayed"] is False
    assert app["status"] == "SUBMITTED"
    assert app["id_number"] == "3302**********" + form()["id_number"][-4:]
    assert app["phone"] == "138****5678" and app["name"] == "张**"
    assert app["prescreen"]["verdict"] == "eligible"
    assert "不构成授信决定" in app["prescreen"]["disclaimer"]
    assert app["consent_version"] == form()["consent_version"] and app["consent_at"] == "2026-03-15T02:00:00Z"

    [event] = queued(aws)
    assert event["type"] == "loan_status_changed"
    assert event["id"] == f"loan_status_changed:{app['application_id']}:1"
    assert event["data"]["status"] == "SUBMITTED" and event["data"]["openid"] == "o_alice"

    detail = body(api.http.get(f"/loans/api/applications/{app['application_id']}", headers=api.headers("o_alice")))
    assert [(h["from"], h["to"], h["actor_role"]) for h in detail["history"]] == [(None, "SUBMITTED", "applicant")]


def test_a_retried_submit_answers_the_first_result(api, aws):
    first = body(api.submit("o_alice", form(), key="double-click-1"))
    again = api.submit("o_alice", form(), key="double-click-1")
    assert again.status_code == 200
    assert body(again)["replayed"] is True
    assert body(again)["application"]["application_id"] == first["application"]["application_id"]
    assert len(applications()) == 1
    assert len(queued(aws)) == 1
    counter = [i for i in raw_items() if i["sk"]["S"] == "DAILY"]
    assert counter[0]["submissions"]["N"] == "1"


def test_the_same_key_with_other_data_is_refused(api):
    api.submit("o_alice", form(), key="reused-key-1")
    response = api.submit("o_alice", form(amount="60000"), key="reused-key-1")
    assert response.status_code == 409
    assert body(response)["code"] == "idempotency_key_reused"
    assert len(applications()) == 1


def test_concurrent_submits_with_one_key_make_one_application(api, aws):
    from functions.loan_apply import actions

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: actions.submit("o_alice", form(), "concurrent-key"), range(8)))
    ids = {r["application"]["application_id"] for r in results}
    assert len(ids) == 1
    assert sorted(r["replayed"] for r in results) == [False] + [True] * 7
    assert len(applications()) == 1
    assert len(queued(aws)) == 1


def test_at_most_three_submissions_per_openid_per_day(api, frozen_clock):
    def someone(n: int) -> dict:  # one open application per ID number and product
        return form(id_number=resident_id(date(1990, 5, 17), serial=f"12{n}"), phone=f"1381234567{n}")

    for n in range(3):
        assert api.submit("o_alice", someone(n), key=f"daily-key-{n}").status_code == 201
    refused = api.submit("o_alice", someone(3), key="daily-key-3")
    assert refused.status_code == 429 and body(refused)["code"] == "daily_limit"
    assert len(applications()) == 3
    # another openid is not affected; the next Asia/Shanghai day starts at 16:00 UTC
    other = form(id_number=resident_id(date(1980, 1, 1)), phone="13912345678")
    assert api.submit("o_bob", other, key="daily-key-b").status_code == 201
    frozen_clock(datetime(2026, 3, 15, 15, 59, tzinfo=UTC))
    assert api.submit("o_alice", someone(4), key="daily-key-4").status_code == 429
    frozen_clock(datetime(2026, 3, 15, 16, 0, tzinfo=UTC))
    assert api.submit("o_alice", someone(5), key="daily-key-5").status_code == 201


def test_bad_input_answers_field_errors_and_stores_nothing(api, aws):
    response = api.submit("o_alice", form(phone="12345", amount="abc", id_number="330203199005171230"))
    assert response.status_code == 400
    fields = {f["field"]: f["code"] for f in body(response)["fields"]}
    assert fields == {"phone": "phone_invalid", "amount": "amount_invalid", "id_number": "id_number_checksum"}
    assert raw_items() == []
    assert queued(aws) == []


def test_missing_consent_is_refused_and_nothing_is_stored(api):
    response = api.submit("o_alice", form(consent=None))
    assert response.status_code == 400
    assert {f["field"]: f["code"] for f in body(response)["fields"]} == {"consent": "consent_required"}
    assert raw_items() == []


def test_a_missing_idempotency_key_is_a_field_error(api):
    response = api.http.post("/loans/api/applications", headers=api.headers("o_alice"), body=json.dumps(form()))
    assert response.status_code == 400
    assert [f["field"] for f in body(response)["fields"]] == ["idempotency_key"]


def test_submit_needs_a_session_and_the_csrf_token(api):
    no_session = api.http.post("/loans/api/applications", headers={"Content-Type": "application/json"},
                               body=json.dumps(form()))
    assert no_session.status_code == 401
    headers = api.headers("o_alice", **{"Idempotency-Key": "csrf-key-01", "X-CSRF-Token": "forged"})
    forged = api.http.post("/loans/api/applications", headers=headers, body=json.dumps(form()))
    assert forged.status_code == 403 and body(forged)["code"] == "csrf_failed"
    assert raw_items() == []


def test_a_second_open_application_for_the_same_product_is_refused_with_a_link_to_the_first(api, aws):
    first = body(api.submit("o_alice", form()))["application"]
    again = api.submit("o_alice", form(amount="60000"), key="second-key-1")
    assert again.status_code == 409
    assert body(again)["code"] == "application_open" and body(again)["link"] == f"/loans/mine/{first['application_id']}"
    # the same ID number from another WeChat account is refused too, without naming the open one
    other = api.submit("o_other_device", form(phone="13912345678"), key="second-key-2")
    assert other.status_code == 409 and "link" not in body(other)
    assert len(applications()) == 1 and len(queued(aws)) == 1
    card = api.submit("o_alice", form(product="credit_card", amount="20000", term=None, purpose=None),
                      key="card-key-01")
    assert card.status_code == 201


def test_a_withdrawn_or_decided_application_frees_the_product_for_a_new_one(api):
    first = body(api.submit("o_alice", form()))["application"]
    assert api.withdraw("o_alice", first["application_id"]).status_code == 200
    second = api.submit("o_alice", form(), key="after-withdraw")
    assert second.status_code == 201
    second_id = body(second)["application"]["application_id"]
    assert api.transition(second_id, "UNDER_REVIEW").status_code == 200
    assert api.submit("o_alice", form(), key="while-in-review").status_code == 409
    assert api.transition(second_id, "REJECTED", reason="收入证明不足").status_code == 200
    assert api.submit("o_alice", form(), key="after-rejection").status_code == 201


def test_concurrent_submissions_with_different_keys_open_one_application(api, aws):
    from functions.common.errors import Conflict
    from functions.loan_apply import actions

    def submit(n: int) -> str:
        try:
            actions.submit("o_alice", form(), f"racing-key-{n}")
        except Conflict as refused:
            return refused.code
        return "created"

    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = sorted(pool.map(submit, range(3)))
    assert outcomes == ["application_open", "application_open", "created"]
    assert len(applications()) == 1 and len(queued(aws)) == 1


def test_an_amount_outside_the_product_is_a_field_error_and_nothing_is_stored(api, aws):
    response = api.submit("o_alice", form(amount="5000000"))
    assert response.status_code == 400
    [field] = body(response)["fields"]
    assert (field["field"], field["code"]) == ("amount", "amount_out_of_range")
    assert raw_items() == [] and queued(aws) == []


def test_age_is_counted_on_the_asia_shanghai_date(api, frozen_clock):
    # 00:30 on 15 March in Ningbo is still 14 March in UTC
    frozen_clock(datetime(2026, 3, 14, 16, 30, tzinfo=UTC))
    turns_18_today = body(api.submit("o_a", form(id_number=resident_id(date(2008, 3, 15)))))["application"]
    assert "age" not in {r["code"] for r in turns_18_today["prescreen"]["reasons"]}
    turns_18_tomorrow = body(api.submit("o_b", form(id_number=resident_id(date(2008, 3, 16)))))["application"]
    assert turns_18_tomorrow["prescreen"]["verdict"] == "not_eligible"
    assert {r["code"] for r in turns_18_tomorrow["prescreen"]["reasons"]} == {"age"}
    # (another applicant's mobile number: one number sends three applications a day)
    turned_66_today = body(api.submit("o_c", form(id_number=resident_id(date(1960, 3, 15)),
                                                  phone="13912345678")))["application"]
    assert {r["code"] for r in turned_66_today["prescreen"]["reasons"]} == {"age"}
    still_65 = body(api.submit("o_d", form(id_number=resident_id(date(1960, 3, 16)),
                                           phone="13912345678")))["application"]
    assert still_65["prescreen"]["verdict"] == "eligible"


def test_applicants_see_only_their_own_applications(api):
    mine = body(api.submit("o_alice", form()))["application"]["application_id"]
    api.submit("o_bob", form(id_number=resident_id(date(1980, 1, 1))), key="bob-key-001")
    listed = body(api.http.get("/loans/api/applications", headers=api.headers("o_alice")))["items"]
    assert [a["application_id"] for a in listed] == [mine]
    assert api.http.get(f"/loans/api/applications/{mine}", headers=api.headers("o_bob")).status_code == 404
    assert api.withdraw("o_bob", mine).status_code == 404
    assert api.http.get("/loans/api/applications/LA-nope", headers=api.headers("o_bob")).status_code == 404


def test_products_are_published_from_the_catalogue(api):
    products = body(api.http.get("/loans/api/products"))
    assert [p["code"] for p in products["products"]] == ["consumer_loan", "business_loan", "mortgage", "credit_card"]
    assert products["consent"]["version"] == form()["consent_version"]


PLAIN_NAME, PLAIN_PHONE = "欧阳明月", "13987654321"
PLAIN_ID = resident_id(date(1988, 8, 8), "456")


def _whole_flow(api):
    """Everything that touches personal data: submit, bad submit, lists, pages, staff
    read, transitions, withdrawal."""
    personal = {"name": PLAIN_NAME, "phone": PLAIN_PHONE, "id_number": PLAIN_ID}
    app_id = body(api.submit("o_pii", form(**personal)))["application"]["application_id"]
    api.submit("o_pii", form(**personal, amount="oops"), key="bad-key-0001")
    api.submit("o_pii", form(**personal, amount="60000"), key="second-key-02")  # a second, not-eligible one
    api.http.get("/loans/api/applications", headers=api.headers("o_pii"))
    api.http.get(f"/loans/mine/{app_id}", headers=api.headers("o_pii"))
    read = body(api.read(app_id))
    assert read["personal"] == personal
    api.transition(app_id, "UNDER_REVIEW", "资料齐全")
    api.withdraw("o_pii", app_id, "不需要了")
    return app_id


def test_the_table_never_holds_plaintext_personal_data(api):
    _whole_flow(api)
    dump = json.dumps(raw_items() + raw_items("TABLE_AUDIT"), ensure_ascii=False)
    assert "APP#" in dump and "read_personal" in dump  # the application and the staff read are there
    for secret in (PLAIN_NAME, PLAIN_PHONE, PLAIN_ID, PLAIN_ID[6:14]):
        assert secret not in dump


def test_logs_never_hold_personal_data(api, caplog, capfd):
    import logging

    caplog.set_level(logging.DEBUG)
    _whole_flow(api)
    out, err = capfd.readouterr()
    records = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    logged = out + err + records
    assert "application submitted" in logged and "personal data read" in logged
    for secret in (PLAIN_NAME, PLAIN_PHONE, PLAIN_ID):
        assert secret not in logged


def test_the_prescreen_is_kept_with_the_application(api):
    app = body(api.submit("o_alice", form(monthly_income="4000")))["application"]
    again = body(api.http.get(f"/loans/api/applications/{app['application_id']}", headers=api.headers("o_alice")))
    assert again["prescreen"] == app["prescreen"]
    assert again["prescreen"]["verdict"] == "needs_review"


PATHS = {  # how each status is reached: (target, role) steps after SUBMITTED
    "SUBMITTED": [],
    "UNDER_REVIEW": [("UNDER_REVIEW", "loan_reviewer")],
    "APPROVED": [("UNDER_REVIEW", "loan_reviewer"), ("APPROVED", "loan_approver")],
    "REJECTED": [("UNDER_REVIEW", "loan_reviewer"), ("REJECTED", "loan_approver")],
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
    approved = api.transition(app_id, "APPROVED", "资信良好", staff="approver-2")
    assert approved.status_code == 200 and body(approved)["status"] == "APPROVED"
    history = current(api, openid, app_id)["history"]
    assert [(h["from"], h["to"], h["actor"], h["reason"], h["at"]) for h in history] == [
        (None, "SUBMITTED", openid, None, "2026-03-15T02:00:00Z"),
        ("SUBMITTED", "UNDER_REVIEW", api.subject("reviewer-1"), "开始审核", "2026-03-15T02:00:00Z"),
        ("UNDER_REVIEW", "APPROVED", api.subject("approver-2"), "资信良好", "2026-03-15T02:00:00Z"),
    ]
    events = queued(aws)
    assert [e["id"] for e in events] == [f"loan_status_changed:{app_id}:{n}" for n in (1, 2, 3)]
    assert [e["data"]["status"] for e in events] == ["SUBMITTED", "UNDER_REVIEW", "APPROVED"]
    assert events[-1]["data"]["reason"] == "资信良好" and events[-1]["data"]["product"] == "个人消费贷款"


def test_every_illegal_transition_is_refused_and_changes_nothing(api, aws):
    n = 0
    for state in service.STATUSES:
        openid, app_id = reach(api, state, n)
        n += 1
        before = current(api, openid, app_id)
        queued(aws)  # drain
        tried = 0
        for target in service.STATUSES:
            for role in (service.staff_role(target), service.APPLICANT):
                if service.allowed(state, target, role) or (role == service.APPLICANT and target != service.WITHDRAWN):
                    continue  # applicants can only ask to withdraw; there is no route for anything else
                # another actor and reason, so it cannot pass for a retry of the change that led here
                if role != service.APPLICANT:
                    response = api.transition(app_id, target, "别的原因", staff="staff-9")
                else:
                    response = api.withdraw(openid, app_id, "别的原因")
                assert response.status_code == 409, (state, target, role)
                assert body(response)["code"] == "illegal_transition"
                tried += 1
        assert tried > 0
        assert current(api, openid, app_id) == before
        assert queued(aws) == []


def test_a_repeated_change_by_the_same_actor_republishes_the_same_event(api, aws):
    openid, app_id = submitted(api)
    api.transition(app_id, "UNDER_REVIEW", "开始审核")
    again = api.transition(app_id, "UNDER_REVIEW", "开始审核")
    assert again.status_code == 200
    assert len(current(api, openid, app_id)["history"]) == 2
    ids = [e["id"] for e in queued(aws)]
    assert ids.count(f"loan_status_changed:{app_id}:2") == 2  # notify drops the duplicate by id


def test_conflicting_decisions_at_once_leave_exactly_one(api):
    from functions.common.errors import Conflict
    from functions.loan_apply import actions

    openid, app_id = submitted(api)
    api.transition(app_id, "UNDER_REVIEW", "")

    def decide(n):
        target = ("APPROVED", "REJECTED")[n % 2]
        try:
            return actions.staff_transition(member(f"approver-{n}", "loan_approver"), app_id, target, "决定")["status"]
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
        store.transition(stale, entry, None, closes=False)
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
def test_rejected_and_withdrawn_applications_expire_after_the_configured_period(api, setting, final, days):
    if days:
        setting("LOAN_PURGE_AFTER_DAYS", str(days))
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


STAFF_ROUTES = [
    ("get", "/loans/staff/applications", None),
    ("get", "/loans/staff/applications/LA1", None),
    ("post", "/loans/staff/applications/LA1/transition", {"to": "UNDER_REVIEW"}),
]


def test_staff_routes_need_a_staff_token(api):
    for method, path, payload in STAFF_ROUTES:
        call = getattr(api.http, method)
        kwargs = {"body": json.dumps(payload)} if payload else {}
        missing = call(path, headers={"Content-Type": "application/json"}, **kwargs)
        assert missing.status_code == 401, path
        wrong = call(path, headers={"Content-Type": "application/json", "Authorization": "Bearer guess"}, **kwargs)
        assert wrong.status_code == 401 and body(wrong)["code"] == "invalid_token", path
        # a customer's session is no staff token
        customer = call(path, headers=api.headers("o_alice"), **kwargs)
        assert customer.status_code == 401, path


def submit_on(api, frozen_clock, when: datetime, n: int, **overrides) -> str:
    frozen_clock(when)
    data = form(id_number=resident_id(date(1990, 1, 1), f"{200 + n}"), **overrides)
    return body(api.submit(f"o_q{n}", data, key=f"queue-key-{n}"))["application"]["application_id"]


def ids(response) -> list[str]:
    return [a["application_id"] for a in body(response)["items"]]


def test_the_queue_filters_by_status_product_and_local_date(api, frozen_clock):
    day1 = datetime(2026, 3, 10, 15, 59, tzinfo=UTC)  # 23:59 on 10 March in Ningbo
    day2 = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)  # 00:00 on 11 March
    a = submit_on(api, frozen_clock, day1, 1)
    b = submit_on(api, frozen_clock, day2, 2, product="credit_card", amount="20000", term=None, purpose=None)
    c = submit_on(api, frozen_clock, day2, 3)
    api.transition(c, "UNDER_REVIEW", "")

    assert ids(api.staff("get", "/loans/staff/applications")) == [a, b]  # SUBMITTED, oldest first
    assert ids(api.staff("get", "/loans/staff/applications?status=UNDER_REVIEW")) == [c]
    assert ids(api.staff("get", "/loans/staff/applications?product=credit_card")) == [b]
    assert ids(api.staff("get", "/loans/staff/applications?from=2026-03-11&to=2026-03-11")) == [b]
    assert ids(api.staff("get", "/loans/staff/applications?to=2026-03-10")) == [a]
    assert ids(api.staff("get", "/loans/staff/applications?product=consumer_loan&from=2026-03-11")) == []
    listed = body(api.staff("get", "/loans/staff/applications"))["items"][0]
    assert listed["id_number"].startswith("3302****") and "personal" not in listed


def test_the_queue_pages_by_cursor(api, frozen_clock):
    made = [submit_on(api, frozen_clock, datetime(2026, 3, 10, 2, n, tzinfo=UTC), n) for n in range(3)]
    first = body(api.staff("get", "/loans/staff/applications?limit=2"))
    assert [a["application_id"] for a in first["items"]] == made[:2] and first["cursor"]
    rest = body(api.staff("get", f"/loans/staff/applications?limit=2&cursor={first['cursor']}"))
    assert [a["application_id"] for a in rest["items"]] == made[2:]


def test_bad_queue_parameters_are_field_errors(api):
    response = api.staff("get", "/loans/staff/applications?status=PAID&product=yacht&from=yesterday&limit=0&cursor=%%")
    assert response.status_code == 400
    assert {f["field"] for f in body(response)["fields"]} == {"status", "product", "from", "limit", "cursor"}


def test_sealed_data_is_bound_to_its_application(api, frozen_clock):
    from functions.common import pii
    from functions.loan_apply import store

    first = submit_on(api, frozen_clock, datetime(2026, 3, 15, 2, 0, tzinfo=UTC), 1)
    second = submit_on(api, frozen_clock, datetime(2026, 3, 15, 2, 1, tzinfo=UTC), 2)
    moved = store.get(second)
    moved.sealed = store.get(first).sealed  # someone copies another applicant's blob over
    moved.save()
    response = api.read(second)
    assert response.status_code == 500 and "张三丰" not in response.body.decode()
    with pytest.raises(Exception):
        pii.unseal(store.get(first).sealed, {"application_id": second, "purpose": "loan_application"})

"""Submitting applications through the customer API: pre-screen, idempotency, the daily
limit, ownership, and personal data kept out of the table and the logs."""
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import boto3

from tests.loan_apply.conftest import form, raw_items, resident_id


def body(response) -> dict:
    return json.loads(response.body)


def queued_events(aws) -> list[dict]:
    sqs = boto3.client("sqs")
    url = aws["NotifyEventsQueue"]["Ref"]
    out = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return out
        out += [json.loads(m["Body"]) for m in batch]


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

    [event] = queued_events(aws)
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
    assert len(queued_events(aws)) == 1
    counter = [i for i in raw_items() if i["sk"]["S"] == "DAILY"]
    assert counter[0]["submissions"]["N"] == "1"


def test_the_same_key_with_other_data_is_refused(api):
    api.submit("o_alice", form(), key="reused-key-1")
    response = api.submit("o_alice", form(amount="60000"), key="reused-key-1")
    assert response.status_code == 409
    assert body(response)["code"] == "idempotency_key_reused"
    assert len(applications()) == 1


def test_concurrent_submits_with_one_key_make_one_application(api, aws):
    from functions.loan_apply import service

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: service.submit("o_alice", form(), "concurrent-key"), range(8)))
    ids = {r["application"]["application_id"] for r in results}
    assert len(ids) == 1
    assert sorted(r["replayed"] for r in results) == [False] + [True] * 7
    assert len(applications()) == 1
    assert len(queued_events(aws)) == 1


def test_at_most_three_submissions_per_openid_per_day(api, frozen_clock):
    for n in range(3):
        assert api.submit("o_alice", form(amount=str(10000 + n)), key=f"daily-key-{n}").status_code == 201
    refused = api.submit("o_alice", form(amount="20000"), key="daily-key-3")
    assert refused.status_code == 429 and body(refused)["code"] == "daily_limit"
    assert len(applications()) == 3
    # another openid is not affected; the next Asia/Shanghai day starts at 16:00 UTC
    other = form(id_number=resident_id(date(1980, 1, 1)), phone="13912345678")
    assert api.submit("o_bob", other, key="daily-key-b").status_code == 201
    frozen_clock(datetime(2026, 3, 15, 15, 59, tzinfo=UTC))
    assert api.submit("o_alice", form(amount="20001"), key="daily-key-4").status_code == 429
    frozen_clock(datetime(2026, 3, 15, 16, 0, tzinfo=UTC))
    assert api.submit("o_alice", form(amount="20002"), key="daily-key-5").status_code == 201


def test_bad_input_answers_field_errors_and_stores_nothing(api, aws):
    response = api.submit("o_alice", form(phone="12345", amount="abc", id_number="330203199005171230"))
    assert response.status_code == 400
    fields = {f["field"]: f["code"] for f in body(response)["fields"]}
    assert fields == {"phone": "phone_invalid", "amount": "amount_invalid", "id_number": "id_number_checksum"}
    assert raw_items() == []
    assert queued_events(aws) == []


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


def test_an_open_application_for_the_same_product_is_found_by_id_number_across_openids(api):
    api.submit("o_alice", form())
    second = body(api.submit("o_other_device", form(phone="13912345678"), key="second-key-1"))["application"]
    assert second["prescreen"]["verdict"] == "not_eligible"
    assert [r["code"] for r in second["prescreen"]["reasons"]] == ["open_application"]
    card = body(api.submit("o_alice", form(product="credit_card", amount="20000", term=None, purpose=None),
                           key="card-key-01"))["application"]
    assert card["prescreen"]["verdict"] == "eligible"


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
    read = body(api.staff("get", f"/loans/staff/applications/{app_id}"))
    assert read["personal"] == personal
    api.transition(app_id, "UNDER_REVIEW", "资料齐全")
    api.withdraw("o_pii", app_id, "不需要了")
    return app_id


def test_the_table_never_holds_plaintext_personal_data(api):
    _whole_flow(api)
    dump = json.dumps(raw_items(), ensure_ascii=False)
    assert "APP#" in dump and "A#" in dump  # the application and the staff read are there
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

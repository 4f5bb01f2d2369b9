"""The back office: the staff key, the work queue, decrypted reads and their audit trail."""
import json
from datetime import UTC, date, datetime

import pytest

from tests.loan_apply.conftest import form, raw_items, resident_id
from tests.loan_apply.test_applications import body

STAFF_ROUTES = [
    ("get", "/loans/staff/applications", None),
    ("get", "/loans/staff/applications/LA1", None),
    ("post", "/loans/staff/applications/LA1/transition", {"to": "UNDER_REVIEW"}),
]


def test_staff_routes_need_the_staff_key(api):
    for method, path, payload in STAFF_ROUTES:
        call = getattr(api.http, method)
        kwargs = {"body": json.dumps(payload)} if payload else {}
        missing = call(path, headers={"Content-Type": "application/json"}, **kwargs)
        assert missing.status_code == 401, path
        wrong = call(path, headers={"Content-Type": "application/json", "X-Api-Key": "guess"}, **kwargs)
        assert wrong.status_code == 403 and body(wrong)["code"] == "bad_staff_key", path
        # a customer's session is no staff key
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


def test_a_staff_read_decrypts_and_is_recorded(api, frozen_clock):
    app_id = submit_on(api, frozen_clock, datetime(2026, 3, 15, 2, 0, tzinfo=UTC), 1)
    frozen_clock(datetime(2026, 3, 16, 1, 30, tzinfo=UTC))
    read = body(api.staff("get", f"/loans/staff/applications/{app_id}", staff="auditor-7"))
    assert read["personal"] == {"name": "张三丰", "id_number": resident_id(date(1990, 1, 1), "201"),
                                "phone": "13812345678"}
    assert [h["to"] for h in read["history"]] == ["SUBMITTED"]
    [record] = [i for i in raw_items() if i["sk"]["S"].startswith("A#")]
    assert record["pk"]["S"] == f"APP#{app_id}"
    assert record["staff"]["S"] == "auditor-7" and record["at"]["S"] == "2026-03-16T01:30:00Z"
    assert [f["S"] for f in record["fields"]["L"]] == ["name", "id_number", "phone"]
    assert api.staff("get", "/loans/staff/applications/LA-missing").status_code == 404


def test_sealed_data_is_bound_to_its_application(api, frozen_clock):
    from functions.common import pii
    from functions.loan_apply import store

    first = submit_on(api, frozen_clock, datetime(2026, 3, 15, 2, 0, tzinfo=UTC), 1)
    second = submit_on(api, frozen_clock, datetime(2026, 3, 15, 2, 1, tzinfo=UTC), 2)
    moved = store.get(second)
    moved.sealed = store.get(first).sealed  # someone copies another applicant's blob over
    moved.save()
    response = api.staff("get", f"/loans/staff/applications/{second}")
    assert response.status_code == 500 and "张三丰" not in response.body.decode()
    with pytest.raises(Exception):
        pii.unseal(store.get(first).sealed, {"application_id": second, "purpose": "loan_application"})

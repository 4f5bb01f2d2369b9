"""At most LOAN_PHONE_DAILY_LIMIT (3) submissions per mobile number per Asia/Shanghai day,
whichever openids send them: a counter under the number's keyed hash, in the submit's own
transaction."""
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from urllib.parse import urlencode

import pytest

from functions.common import pii
from tests.loan_apply.conftest import form, raw_items, resident_id
from tests.loan_apply.test_actions import applications, body
from tests.sessions import cookie, signed_in

PHONE = "13700009999"


def applicant(n: int, phone: str = PHONE) -> dict:
    """Another person (ID number) with the shared mobile number."""
    return form(id_number=resident_id(date(1970 + n, 3, 4)), phone=phone)


def send(api, n: int, phone: str = PHONE, key: str | None = None):
    return api.submit(f"o_lp{n}", applicant(n, phone), key=key or f"phone-key-{n:04d}")


def phone_counter() -> dict | None:
    pk = f"DAILY#PHONE#{pii.keyed_hash(PHONE, 'phone')}#2026-03-15"
    return next((i for i in raw_items() if i["pk"]["S"] == pk), None)


def test_a_fourth_submission_with_one_number_is_refused_and_stores_nothing(api):
    assert [send(api, n).status_code for n in range(3)] == [201, 201, 201]
    before = raw_items()
    refused = send(api, 3)
    assert refused.status_code == 429
    answer = body(refused)
    assert answer["code"] == "phone_daily_limit" and "该手机号码今天已提交3次申请" in answer["message"]
    assert [(f["field"], f["code"]) for f in answer["fields"]] == [("phone", "phone_daily_limit")]
    # nothing stored: no application, no idempotency record, the openid's counter untouched
    assert raw_items() == before
    assert not any("o_lp3" in i["pk"]["S"] for i in raw_items())
    # the same customer with another number goes through
    assert send(api, 3, phone="13700008888", key="phone-key-other").status_code == 201


def test_the_counter_is_keyed_by_the_keyed_hash_never_the_number(api):
    for n in range(2):
        send(api, n)
    assert phone_counter()["submissions"]["N"] == "2"
    assert PHONE not in json.dumps(raw_items())


def test_the_number_is_normalised_before_it_is_counted(api):
    for n, written in enumerate(("13700009999", "+86 137 0000 9999", "8613700009999")):
        assert send(api, n, phone=written).status_code == 201
    assert body(send(api, 3))["code"] == "phone_daily_limit"


def test_retries_of_one_submission_count_once(api):
    for _ in range(3):  # a double click and a network retry
        assert send(api, 0).status_code in (200, 201)
    assert phone_counter()["submissions"]["N"] == "1"
    assert [send(api, n).status_code for n in (1, 2)] == [201, 201]
    assert send(api, 3).status_code == 429
    # a retry of an accepted one after the limit still answers its result
    again = send(api, 0)
    assert again.status_code == 200 and body(again)["replayed"] is True


def test_the_next_asia_shanghai_day_starts_afresh(api, frozen_clock):
    for n in range(3):
        send(api, n)
    frozen_clock(datetime(2026, 3, 15, 15, 59, tzinfo=UTC))  # 23:59 in Ningbo
    assert send(api, 3).status_code == 429
    frozen_clock(datetime(2026, 3, 15, 16, 0, tzinfo=UTC))  # midnight
    assert send(api, 3).status_code == 201


def test_the_limit_comes_from_the_environment(api, setting):
    setting("LOAN_PHONE_DAILY_LIMIT", "1")
    assert send(api, 0).status_code == 201
    refused = send(api, 1)
    assert refused.status_code == 429 and "今天已提交1次申请" in body(refused)["message"]


def test_the_openid_limit_is_reported_first_when_both_are_reached(api):
    for n in range(3):
        assert api.submit("o_same", applicant(n), key=f"same-key-{n:04d}").status_code == 201
    assert body(api.submit("o_same", applicant(3), key="same-key-0003"))["code"] == "daily_limit"


def test_the_form_shows_the_refusal_at_the_phone_field(api):
    for n in range(3):
        send(api, n)
    signed = signed_in("o_lp3")
    fields = {**applicant(3), "csrf_token": signed.csrf_token, "idempotency_key": "page-key-000003"}
    headers = {**cookie(signed), "Content-Type": "application/x-www-form-urlencoded"}
    response = api.http.post("/loans/apply", headers=headers, body=urlencode(fields))
    assert response.status_code == 429
    html = response.body.decode()
    assert 'data-field="phone"' in html and "该手机号码今天已提交3次申请" in html
    assert 'name="idempotency_key" value="page-key-000003"' in html
    assert len(applications()) == 3


def test_racing_submissions_from_many_openids_store_three(api):
    from functions.loan_apply import actions

    def attempt(n: int) -> str:
        try:
            actions.submit(f"o_race{n}", applicant(n), f"race-key-{n:04d}")
        except Exception as error:  # noqa: BLE001 - the refusal is the outcome
            return getattr(error, "code", repr(error))
        return "stored"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(attempt, range(6)))
    assert sorted(outcomes) == ["phone_daily_limit"] * 3 + ["stored"] * 3
    assert len(applications()) == 3 and phone_counter()["submissions"]["N"] == "3"



@pytest.fixture
def conflicts(monkeypatch):
    """`conflicts.left = n`: DynamoDB answers the next n TransactWriteItems as it does when
    another transaction holds an item (the day's phone counter, item 4) at that moment,
    writing nothing."""
    from moto.dynamodb.exceptions import TransactionCanceledException
    from moto.dynamodb.responses import DynamoHandler

    class Conflicts:
        left = 0

    state = Conflicts()
    original = DynamoHandler.transact_write_items

    def transact_write_items(self):
        if state.left > 0:
            state.left -= 1
            raise TransactionCanceledException([(None, None, None)] * 4 + [("TransactionConflict", "ongoing", None)])
        return original(self)

    monkeypatch.setattr(DynamoHandler, "transact_write_items", transact_write_items)
    return state

def test_a_submission_that_meets_another_on_the_counter_is_tried_again(api, conflicts):
    conflicts.left = 2
    assert send(api, 0).status_code == 201
    assert conflicts.left == 0
    assert len(applications()) == 1 and phone_counter()["submissions"]["N"] == "1"


def test_lasting_contention_is_a_clean_503_with_nothing_stored(api, conflicts):
    conflicts.left = 100
    response = send(api, 0)
    assert response.status_code == 503 and body(response)["code"] == "unavailable"
    assert raw_items() == []

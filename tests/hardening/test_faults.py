"""Faults: DynamoDB throttling and 5xx at 20 % of DynamoDB calls, in two modes; a feature's
intent failing or slow under the webhook. WeChat API faults and SQS redelivery are in
test_notify_faults.py.

The two DynamoDB modes (seeded, so a run is repeatable):
- `refused`: what the issue asks for. moto's DynamoDB handler raises the error before the
  request reaches its backend, so DynamoDB refused it and applied nothing; the SDK's own
  retries see a real error response.
- `lost_answer`: harsher. A `before-send.dynamodb` hook answers with the error, but botocore
  runs every `before-send` handler, so moto still applies the request: a write DynamoDB made
  whose answer never reached the caller, and which the SDK then retries."""
from __future__ import annotations

import json
import random
import threading
from collections import Counter
from datetime import date

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries.standard import ExponentialBackoff
from chalice.test import Client

from tests.hardening import apps
from tests.hardening.conftest import customer, record
from tests.webhook import wechat_side as wx

pytestmark = pytest.mark.slow

ERRORS = [
    (400, "ProvisionedThroughputExceededException", "The level of configured provisioned throughput exceeded"),
    (400, "ThrottlingException", "Rate of requests exceeds the allowed throughput"),
    (500, "InternalServerError", "Internal server error"),
    (503, "ServiceUnavailable", "Service unavailable"),
]
MODES = ("refused", "lost_answer")
TITLES = {"refused": "refused (not applied)", "lost_answer": "lost answer (applied, then an error)"}


class _Raw:
    """What botocore's parser reads from a response body."""

    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_):
        yield self._body

    def read(self, *_):
        return self._body


class Injector:
    """Fails `rate` of DynamoDB calls with a throttling or server error, chosen by a seeded
    generator so a run is repeatable; `mode` says whether the failed call was applied."""

    def __init__(self, mode: str, rate: float = 0.2, seed: int = 9):
        self.mode = mode
        self.rate = rate
        self.on = False
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: Counter = Counter()
        self.passed = 0

    def pick(self) -> tuple[int, str, str] | None:
        with self.lock:
            if not self.on or self.rng.random() >= self.rate:
                self.passed += 1
                return None
            status, code, message = self.rng.choice(ERRORS)
            self.injected[code] += 1
            return status, f"com.amazonaws.dynamodb.v20120810#{code}", message

    def refuse(self, call_action):
        """`refused`: wraps moto's DynamoHandler.call_action; a picked call raises before
        moto's backend sees it (moto turns the exception into the HTTP error answer)."""
        from moto.core.exceptions import JsonRESTError

        injector = self

        def call(handler):
            error = injector.pick()
            if error is None:
                return call_action(handler)
            status, error_type, message = error
            refusal = JsonRESTError(error_type, message)
            refusal.code = status
            raise refusal

        call.serialized = getattr(call_action, "serialized", False)  # type: ignore[attr-defined]
        return call

    def answer(self, request, **_):
        """`lost_answer`: a `before-send.dynamodb` handler; its answer wins over moto's, which
        has applied the request all the same."""
        error = self.pick()
        if error is None:
            return None
        status, error_type, message = error
        body = json.dumps({"__type": error_type, "message": message}).encode()
        headers = {"x-amzn-RequestId": "injected", "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, status, headers, _Raw(body))


def hook_dynamodb(monkeypatch, event: str, handler) -> None:
    """Every botocore client made from now on (boto3's and PynamoDB's) runs `handler` on
    DynamoDB's `event`; cached clients are dropped so they are remade."""
    from functions.common import aws as common_aws
    from functions.common import dynamo

    create_client = botocore.session.Session.create_client

    def create_hooked(self, service_name, *args, **kwargs):
        client = create_client(self, service_name, *args, **kwargs)
        if service_name == "dynamodb":
            client.meta.events.register(event, handler)
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", create_hooked)
    common_aws.reset()
    dynamo.reconnect()


@pytest.fixture(params=MODES)
def dynamo_faults(request, aws, monkeypatch):
    """An `Injector` in each mode, installed (off until a test turns it on)."""
    from moto.dynamodb.responses import DynamoHandler

    from functions.common import aws as common_aws
    from functions.common import dynamo

    injector = Injector(request.param)
    # the SDK's own backoff, scaled down (1 s base for throttling) so the test stays quick
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.01)
    if injector.mode == "refused":
        monkeypatch.setattr(DynamoHandler, "call_action", injector.refuse(DynamoHandler.call_action))
        yield injector
        injector.on = False
        return
    hook_dynamodb(monkeypatch, "before-send.dynamodb", injector.answer)
    yield injector
    injector.on = False
    common_aws.reset()
    dynamo.reconnect()


def test_each_mode_does_what_its_name_says(dynamo_faults):
    """At rate 1 a put fails in both modes; only `lost_answer` leaves the item stored."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    ddb = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))  # noqa: TID251 - no retries
    ddb.create_table(TableName="fault_probe", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    dynamo_faults.rate, dynamo_faults.on = 1.0, True
    with pytest.raises(ClientError) as failed:
        ddb.put_item(TableName="fault_probe", Item={"pk": {"S": "probe"}})
    dynamo_faults.on = False
    code = failed.value.response["Error"]["Code"]
    assert code in {c for _, c, _ in ERRORS}
    assert dynamo_faults.injected == Counter({code: 1})
    stored = "Item" in ddb.get_item(TableName="fault_probe", Key={"pk": {"S": "probe"}}, ConsistentRead=True)
    assert stored == (dynamo_faults.mode == "lost_answer")


@pytest.fixture
def world(aws, frozen_clock):
    from functions.booking import store as booking_store
    from functions.booking.service import Manager
    from functions.notify import corebank
    from infra.local.demo import branch_lookup
    from tests.booking.conftest import MONDAY_8AM, branch

    frozen_clock(MONDAY_8AM)
    branch_lookup.load(branches=[branch("T01")])
    for n in range(3):
        booking_store.put_manager("T01", Manager(f"m{n}", f"经理{n}", frozenset({"wealth"})))
    return corebank


SLOTS = [f"2026-12-01T{h:02d}:{m:02d}:00Z" for h in (1, 2, 3) for m in (0, 30)]  # 09:00-11:30 in Ningbo


def test_dynamodb_faults_at_20_percent_succeed_or_fail_cleanly(world, dynamo_faults):
    from tests.booking.conftest import form as booking_form
    from tests.loan_apply.conftest import form as loan_form
    from tests.loan_apply.conftest import resident_id

    booking, loans = Client(apps.app("booking")), Client(apps.app("loan_apply"))
    people = [f"o_fault_{n:03d}" for n in range(18)]
    signed_in = {openid: customer(openid) for openid in people + ["o_look"]}  # before any fault
    statuses: Counter = Counter()

    def phone(openid, prefix):  # each customer their own number (limits per number apply)
        return f"{prefix}0000{openid[-3:]}"

    def book(openid, slot):
        body = booking_form(slot_start=slot, idempotency_key=f"k-{openid}", mobile=phone(openid, "1390"))
        return booking.http.post("/booking/api/bookings", headers={**signed_in[openid], "Idempotency-Key": openid},
                                 body=json.dumps(body))

    def apply(openid):
        return loans.http.post("/loans/api/applications",
                               headers={**signed_in[openid], "Idempotency-Key": f"idem-{openid}"},
                               body=json.dumps(loan_form(phone=phone(openid, "1370"),  # each their own person
                                                         id_number=resident_id(date(1990, 5, 17), openid[-3:]))))

    dynamo_faults.on = True
    first = {}
    for n, openid in enumerate(people):
        first[openid] = (book(openid, SLOTS[n % len(SLOTS)]), apply(openid))
        for res in first[openid]:
            statuses[res.status_code] += 1
            assert res.status_code in (200, 201, 409, 503), (res.status_code, res.body[:300])
            if res.status_code == 503:
                assert json.loads(res.body)["code"] == "unavailable"
    dynamo_faults.on = False
    assert sum(dynamo_faults.injected.values()) >= 10  # the faults really happened

    # the customer retries what failed; afterwards nothing is half-written: exactly one
    # booking and one application each, and no slot holds more bookings than managers
    held: Counter = Counter()
    for n, openid in enumerate(people):
        made_booking, made_application = first[openid]
        if made_booking.status_code == 503:
            made_booking = book(openid, SLOTS[n % len(SLOTS)])
        if made_application.status_code == 503:
            made_application = apply(openid)
        mine = json.loads(booking.http.get("/booking/api/bookings", headers=signed_in[openid]).body)["bookings"]
        if made_booking.status_code in (200, 201):
            assert [b["id"] for b in mine] == [json.loads(made_booking.body)["booking"]["id"]]
            held[SLOTS[n % len(SLOTS)]] += 1
        else:
            assert made_booking.status_code == 409 and mine == []  # the slot filled up meanwhile
        applications = json.loads(loans.http.get("/loans/api/applications", headers=signed_in[openid]).body)["items"]
        assert made_application.status_code in (200, 201)
        assert [a["application_id"] for a in applications] == [
            json.loads(made_application.body)["application"]["application_id"]]
    slots = json.loads(booking.http.get("/booking/api/slots?branch_id=T01&service=wealth&date=2026-12-01",
                                        headers=signed_in["o_look"]).body)["slots"]
    left = {s["start"]: s["available"] for s in slots}
    for slot in SLOTS:
        assert held[slot] <= 3
        assert left.get(slot, 0) == 3 - held[slot], (slot, held[slot], left.get(slot))
    injected = ", ".join(f"{n}×{code}" for code, n in dynamo_faults.injected.most_common())
    outcome = ", ".join(f"{n}×{s}" for s, n in sorted(statuses.items()))
    record(f"faults_dynamodb_{dynamo_faults.mode}",
           f"DynamoDB throttling and 5xx at 20 %, {TITLES[dynamo_faults.mode]}: bookings, applications",
           sum(statuses.values()), f"{outcome}; injected {injected}; never 500; after retry every "
           f"customer holds exactly one booking and one application; seat counters match")


def test_card_binding_under_dynamodb_faults(world, dynamo_faults, monkeypatch):
    """OTP request and confirm: a 503 leaves no binding, a 201 leaves exactly one."""
    from functions.notify import actions, sms, store

    sent: dict[str, str] = {}
    monkeypatch.setattr(sms, "send", lambda phone, message: sent.__setitem__(phone, message.text))
    notify = Client(apps.app("notify"))
    statuses: Counter = Counter()
    for n in range(8):
        phone, number = f"1390000{n:04d}", _card(n)
        world.add_customer(f"CB{n:03d}", "测试客户", phone)
        world.add_card(f"CB{n:03d}", number)
        openid = f"o_bind_{n}"
        signed_in = customer(openid)
        dynamo_faults.on = True
        res = notify.http.post("/notify/api/otp", headers=signed_in,
                               body=json.dumps({"card_number": number, "phone": phone}))
        statuses[res.status_code] += 1
        assert res.status_code in (200, 503, 429), res.body[:300]
        if res.status_code == 200:
            code = sent[phone].split("验证码")[1][:6]
            res = notify.http.post("/notify/api/bindings", headers=signed_in, body=json.dumps({"code": code}))
            statuses[res.status_code] += 1
            assert res.status_code in (201, 400, 503), res.body[:300]
        dynamo_faults.on = False
        bound = actions.bindings(openid)
        assert len(bound) == (1 if res.status_code == 201 else 0)
        assert len(store.bindings_of(openid)) == len(bound)
    outcome = ", ".join(f"{n}×{s}" for s, n in sorted(statuses.items()))
    injected = ", ".join(f"{n}×{code}" for code, n in dynamo_faults.injected.most_common())
    record(f"faults_binding_{dynamo_faults.mode}",
           f"DynamoDB throttling and 5xx at 20 %, {TITLES[dynamo_faults.mode]}: card binding", sum(statuses.values()),
           f"{outcome}; injected {injected}; never 500; a binding exists exactly when confirm said 201")


def _card(seed: int) -> str:
    from stdnum import luhn

    body = f"62260{seed:010d}"
    return body + luhn.calc_check_digit(body)


# ----- the webhook's deadline ---------------------------------------------------------------

@pytest.mark.parametrize("fault", ["fails", "slow"])
def test_a_failing_or_slow_feature_gets_the_fallback(webhook, invocations, monkeypatch, fault):
    """WeChat waits 5 s: the webhook answers the fallback text from its own deadline,
    whatever the feature does."""
    from functions.common import config
    from functions.webhook import routes

    monkeypatch.setenv("INTENT_DEADLINE_S", "0.5")
    config.reset()
    if fault == "fails":
        invocations.fail = True
    else:
        invocations.hang = True  # it answers long past the deadline
    for mode in wx.MODES:
        path, body = wx.request(wx.msg("text", Content="我的预约"), mode)
        res = webhook.http.post(path, headers={"Content-Type": "text/xml"}, body=body)
        assert res.status_code == 200
        assert wx.read_reply(res.body, mode)["Content"] == routes.fallback_text()
    # a silent event (LOCATION) still answers `success`
    path, body = wx.request(wx.event("LOCATION", Latitude=29.86, Longitude=121.54, Precision=30.0))
    res = webhook.http.post(path, headers={"Content-Type": "text/xml"}, body=body)
    assert res.status_code == 200 and res.body == b"success"
    assert config.settings().intent_deadline_s < 5
    record(f"intent_{fault}", f"Webhook: the feature behind an intent {fault}", 4,
           "fallback text (or `success` for silent events) from the webhook's own deadline, inside 5 s")


@pytest.fixture
def on_transactions(aws, monkeypatch):
    """`on_transactions(handler)`: from then on, `handler` runs before every DynamoDB
    transaction is sent (a botocore `before-send` hook on each client made)."""
    from functions.common import aws as common_aws
    from functions.common import dynamo

    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "base", 0.001)
    yield lambda handler: hook_dynamodb(monkeypatch, "before-send.dynamodb.TransactWriteItems", handler)
    common_aws.reset()
    dynamo.reconnect()


def test_a_transaction_whose_answer_times_out_is_a_503_not_a_500(world, on_transactions):
    """A transaction error without a DynamoDB answer (a timeout) has no response code: the
    stores must not read one as if DynamoDB had cancelled the transaction."""
    from botocore.exceptions import ReadTimeoutError

    from tests.booking.conftest import form as booking_form
    from tests.hardening import live

    def time_out(request, **_):
        raise ReadTimeoutError(endpoint_url=request.url)

    openid = "o_timeout_001"
    headers = customer(openid)
    application_id = live.application(openid)
    on_transactions(time_out)
    booking, loans = Client(apps.app("booking")), Client(apps.app("loan_apply"))
    made = booking.http.post("/booking/api/bookings", headers={**headers, "Idempotency-Key": "k-timeout"},
                             body=json.dumps(booking_form(idempotency_key="k-timeout")))
    withdrawn = loans.http.post(f"/loans/api/applications/{application_id}/withdraw", headers=headers,
                                body=json.dumps({"reason": "不需要了"}))
    assert (made.status_code, json.loads(made.body)["code"]) == (503, "unavailable")
    assert (withdrawn.status_code, json.loads(withdrawn.body)["code"]) == (503, "unavailable")


def test_a_withdraw_applied_but_answered_with_an_error_is_a_success_after_the_sdks_retry(world, on_transactions):
    """DynamoDB applies the withdraw and its answer is an error; the SDK retries, and the
    retry's condition fails on the withdraw it made itself: that is the customer's success,
    not someone else's change (409)."""
    from functions.loan_apply import store
    from tests.hardening import live

    openid = "o_lost_answer_001"
    headers = customer(openid)
    application_id = live.application(openid)
    lost = Injector("lost_answer", rate=1.0)
    sent = Counter()

    def first_answer_lost(request, **kwargs):
        sent["transactions"] += 1
        return lost.answer(request, **kwargs) if sent["transactions"] == 1 else None

    lost.on = True
    on_transactions(first_answer_lost)
    withdrawn = Client(apps.app("loan_apply")).http.post(f"/loans/api/applications/{application_id}/withdraw",
                                                         headers=headers, body=json.dumps({"reason": "不需要了"}))
    assert sent["transactions"] == 2  # the lost answer, then the SDK's retry
    assert withdrawn.status_code == 200, withdrawn.body
    assert json.loads(withdrawn.body)["status"] == "WITHDRAWN"
    assert [h.to_status for h in store.history(application_id)][-1] == "WITHDRAWN"
    assert len(store.history(application_id)) == 2  # submitted, withdrawn: once

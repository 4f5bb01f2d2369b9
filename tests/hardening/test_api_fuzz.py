"""Property-based fuzzing (Hypothesis) of every JSON API and H5 form, through Chalice's
test client on moto: each field is valid, missing, or hostile (wrong JSON type, huge,
control characters, injection strings, absurd numbers); raw bodies are random bytes.
Whatever comes, the answer is never a 5xx, and a refused request stores nothing."""
from __future__ import annotations

import hashlib
import json
import secrets
from collections import Counter
from urllib.parse import quote, urlencode

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.hardening import apps, live
from tests.hardening.conftest import customer, record, staff

pytestmark = pytest.mark.slow

EXAMPLES = 100
# no shrinking: a failing example is reported as found (shrinking re-runs moto hundreds of times)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
NASTY = ["", " ", "null", "NaN", "Infinity", "1e309", "-1", "0", "9" * 40, "<script>alert(1)</script>",
         "' OR '1'='1' --", "${jndi:ldap://127.0.0.1/x}", "\u0000", "../../etc/passwd", "张" * 500, "%00", "{{7*7}}",
         "2026-02-30", "2026-12-01T25:61:00Z", "\u202e\u200b", "🏦" * 50, "a" * 10000]
hostile = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(), st.booleans(),
    st.lists(st.text(max_size=4), max_size=3),
    st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
)


def field(*valid):
    """A field that is sometimes one of its valid values, sometimes anything."""
    return st.one_of(st.sampled_from(valid), hostile) if valid else hostile


def form_of(fields: dict) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({}, optional=fields)


def encode(body, content_type: str) -> bytes:
    if isinstance(body, bytes):
        return body
    if content_type.startswith("application/x-www-form"):
        return urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}).encode()
    return json.dumps(body).encode()


def bodies(fields: dict) -> st.SearchStrategy:
    return st.one_of(form_of(fields), form_of(fields), st.binary(max_size=200),
                     st.sampled_from([b"[]", b"null", b"\"x\"", b"{" * 500, b"\xff\xfe", b'{"a":' * 100]))


class Harness:
    """Sends one fuzzed request and checks the two invariants; keeps figures per route."""

    def __init__(self, writes):
        self.clients = {f: Client(apps.app(f)) for f in apps.FEATURES}
        self.statuses: dict[str, Counter] = {}
        self.writes = writes

    def send(self, feature: str, method: str, path: str, *, headers: dict, body: bytes = b"",
             allowed: tuple[str, ...] = (), label: str | None = None):
        mark = len(self.writes.applied)
        res = self.clients[feature].http.request(method, path, headers=headers, body=body)
        self.statuses.setdefault(label or path, Counter())[res.status_code] += 1
        assert res.status_code < 500, (method, path, body[:300], res.status_code, res.body[:300])
        if res.status_code >= 400:
            stored = self.writes.since(mark, allowed)
            assert not stored, (method, path, body[:300], res.status_code, stored)
        return res

    def total(self) -> int:
        return sum(sum(c.values()) for c in self.statuses.values())


@pytest.fixture
def world(aws, frozen_clock, writes):
    """Bookable branch T01 with managers, a core-banking customer with a card, and the
    current time at Monday 08:00 in Ningbo (booking's test week)."""
    from functions.booking import store as booking_store
    from functions.booking.service import Manager
    from functions.notify import corebank
    from functions.products import store as products_store
    from infra.local.demo import branch_lookup
    from tests.booking.conftest import MONDAY_8AM, branch

    frozen_clock(MONDAY_8AM)
    branch_lookup.load(branches=[branch("T01"), branch("T02", bookable=False)])
    booking_store.put_manager("T01", Manager("m1", "王芳", frozenset({"wealth", "account"})))
    booking_store.put_manager("T01", Manager("m2", "李强", frozenset({"loans", "fx"})))
    corebank.add_customer("CF0001", "测试客户", "13900000001")
    corebank.add_card("CF0001", "6222020000000000004")
    products_store.publish_agreement("v1", AGREEMENT)
    return Harness(writes)


def _openid() -> str:
    return "o_fuzz_" + secrets.token_hex(8)


BOOKING_FIELDS = {
    "branch_id": field("T01", "T02", "NOPE"), "service": field("wealth", "loans", "fx", "account"),
    "slot_start": field("2026-12-01T01:00:00Z", "2026-12-01T01:30:00Z", "2026-11-30T00:00:00Z"),
    "name": field("张三", "Li Lei"), "mobile": field("13812345678", "12345"), "note": field("想了解理财"),
    "idempotency_key": field("idem-key-000001"),
}


@FUZZ
@given(body=bodies(BOOKING_FIELDS), as_form=st.booleans())
def test_booking_create(world, body, as_form):
    openid = _openid()
    content_type = "application/x-www-form-urlencoded" if as_form else "application/json"
    for path in ("/booking/api/bookings", "/booking/new"):
        world.send("booking", "POST", path, headers=customer(openid, form=as_form),
                   body=encode(body, content_type))
    record("fuzz_booking_create", "Fuzz: booking create (JSON API and H5 form)", world.total(),
           _outcome(world))


@FUZZ
@given(booking_id=field("X", "../x", "a" * 300), slot=field("2026-12-01T02:00:00Z"), action=st.sampled_from(
    ["cancel", "reschedule"]), api=st.booleans())
def test_booking_change(world, booking_id, slot, action, api):
    openid = _openid()
    made = world.send("booking", "POST", "/booking/api/bookings", headers=customer(openid),
                      body=json.dumps({"branch_id": "T01", "service": "wealth", "slot_start": "2026-12-01T01:00:00Z",
                                       "name": "张三", "mobile": "13812345678"}).encode(), label="setup")
    real = json.loads(made.body)["booking"]["id"] if made.status_code == 201 else "none"
    target = real if booking_id == "X" else quote(str(booking_id), safe="")
    path = f"/booking/api/bookings/{target}/{action}" if api else f"/booking/b/{target}/{action}"
    body = {"slot_start": slot} if action == "reschedule" else {}
    world.send("booking", "POST", path, headers=customer(openid, form=not api),
               body=encode(body, "application/json" if api else "application/x-www-form-urlencoded"),
               label=f"/booking/.../{action}")
    record("fuzz_booking_change", "Fuzz: booking cancel and reschedule (JSON API and H5 form)", world.total(),
           _outcome(world))


@FUZZ
@given(query=form_of({"branch_id": field("T01"), "service": field("wealth"), "date": field("2026-12-01")}),
       staff_query=form_of({"date": field("2026-12-01")}), booking_id=field("b1"),
       outcome=form_of({"status": field("attended", "no_show")}))
def test_booking_reads_and_staff(world, query, staff_query, booking_id, outcome):
    openid = _openid()
    q = urlencode({k: str(v) for k, v in query.items()})
    world.send("booking", "GET", f"/booking/api/slots?{q}", headers=customer(openid), label="/booking/api/slots")
    world.send("booking", "GET", "/booking/api/branches", headers=customer(openid))
    world.send("booking", "GET", f"/booking/new?{q}", headers=customer(openid), label="/booking/new (page)")
    sq = urlencode({k: str(v) for k, v in staff_query.items()})
    world.send("booking", "GET", f"/booking/staff/branches/{quote(str(booking_id), safe='')}/bookings?{sq}",
               headers=staff(), label="/booking/staff/.../bookings")
    world.send("booking", "POST", f"/booking/staff/bookings/{quote(str(booking_id), safe='')}/outcome",
               headers=staff(), body=json.dumps(outcome).encode(), label="/booking/staff/.../outcome")
    record("fuzz_booking_reads", "Fuzz: booking slots, lists and staff routes", world.total(), _outcome(world))


def _loan_fields() -> dict:
    from tests.loan_apply.conftest import form

    valid = form()
    return {name: field(value) for name, value in valid.items()} | {"idempotency_key": field("idem-loan-0001")}


@FUZZ
@given(data=st.data(), as_form=st.booleans())
def test_loan_apply(world, data, as_form):
    body = data.draw(bodies(_loan_fields()))
    openid = _openid()
    content_type = "application/x-www-form-urlencoded" if as_form else "application/json"
    world.send("loan_apply", "POST", "/loans/api/applications", headers=customer(openid, form=as_form),
               body=encode(body, content_type))
    if isinstance(body, dict):
        world.send("loan_apply", "POST", "/loans/apply", headers=customer(openid, form=True),
                   body=encode(body, "application/x-www-form-urlencoded"), label="/loans/apply (form)")
    record("fuzz_loan_apply", "Fuzz: loan and card applications (JSON API and H5 form)", world.total(),
           _outcome(world))


@FUZZ
@given(application_id=field("LA20261130AAAAAAAAAA"), reason=field("不需要了"), to=field("reviewing", "approved"),
       query=form_of({"status": field("submitted"), "product": field("consumer_loan"), "from": field("2026-11-01"),
                      "to": field("2026-12-01"), "limit": field("10"), "cursor": field("abc")}))
def test_loan_changes_and_staff(world, application_id, reason, to, query):
    openid = _openid()
    target = quote(str(application_id), safe="")
    world.send("loan_apply", "POST", f"/loans/api/applications/{target}/withdraw", headers=customer(openid),
               body=json.dumps({"reason": reason}).encode(), label="/loans/api/applications/{id}/withdraw")
    world.send("loan_apply", "GET", f"/loans/mine/{target}", headers=customer(openid), label="/loans/mine/{id}")
    world.send("loan_apply", "GET", f"/loans/staff/applications?{urlencode({k: str(v) for k, v in query.items()})}",
               headers=staff(), label="/loans/staff/applications")
    world.send("loan_apply", "POST", f"/loans/staff/applications/{target}/transition", headers=staff(),
               body=json.dumps({"to": to, "reason": reason}).encode(), label="/loans/staff/.../transition")
    record("fuzz_loan_changes", "Fuzz: loan withdraw, detail and staff queue/transition", world.total(),
           _outcome(world))


@FUZZ
@given(body=bodies({"card_number": field("6222020000000000004", "4111111111111111"),
                    "phone": field("13900000001", "+8613900000001")}),
       code=bodies({"code": field("123456", "000000")}), binding_id=field("abc"))
def test_notify_binding(world, body, code, binding_id):
    openid = _openid()
    # rate-limit counters are spent by refused attempts on purpose (probing costs tries)
    world.send("notify", "POST", "/notify/api/otp", headers=customer(openid), body=encode(body, "application/json"),
               allowed=('"RATE#',))
    world.send("notify", "POST", "/notify/api/bindings", headers=customer(openid),
               body=encode(code, "application/json"))
    world.send("notify", "DELETE", f"/notify/api/bindings/{quote(str(binding_id), safe='')}",
               headers=customer(openid), label="/notify/api/bindings/{id}")
    record("fuzz_notify", "Fuzz: card binding (OTP request, confirm, unbind)", world.total(), _outcome(world))


@FUZZ
@given(nearby=form_of({"lat": field("29.8683", "91"), "lng": field("121.544"), "k": field("3", "0", "1000"),
                       "service": field("wealth"), "kind": field("atm", "branch"), "open_now": field("1", "true")}),
       q=field("鄞州", "天一"), branch_id=field("T01"), url=field("https://evil.example/branches/"))
def test_branch_lookup(world, nearby, q, branch_id, url):
    def qs(params):
        return urlencode({k: str(v) for k, v in params.items()})

    world.send("branch_lookup", "GET", f"/branches/api/nearby?{qs(nearby)}", headers={}, label="/branches/api/nearby")
    world.send("branch_lookup", "GET", f"/branches/api/search?{qs({'q': q})}", headers={}, label="/branches/api/search")
    world.send("branch_lookup", "GET", f"/branches/search?{qs({'q': q})}", headers={}, label="/branches/search")
    target = quote(str(branch_id), safe="")
    world.send("branch_lookup", "GET", f"/branches/api/branch/{target}", headers={}, label="/branches/api/branch/{id}")
    world.send("branch_lookup", "GET", f"/branches/view/{target}", headers={}, label="/branches/view/{id}")
    world.send("branch_lookup", "GET", f"/branches/api/jssdk?{qs({'url': url})}", headers={},
               label="/branches/api/jssdk")
    record("fuzz_branch_lookup", "Fuzz: branch search, nearby, detail and JS-SDK signing", world.total(),
           _outcome(world))


def _outcome(harness: Harness) -> str:
    total = Counter()
    for counts in harness.statuses.values():
        total.update(counts)
    statuses = ", ".join(f"{n}×{s}" for s, n in sorted(total.items()))
    return f"{len(harness.statuses)} routes; {statuses}; no 5xx; refused requests stored nothing"


WRONG_TYPES = [1, -1.5, True, None, [], {}, ["x"], {"a": 1}, 10**30]
AGREEMENT = "掌上理财服务协议（测试文本）"


def _baselines() -> dict[str, dict]:
    from tests.booking.conftest import form as booking_form
    from tests.loan_apply.conftest import form as loan_form

    return {
        "booking": {**booking_form(), "date": "2026-12-01", "idempotency_key": "idem-key-000001",
                    "status": "attended"},
        "loan_apply": {**loan_form(), "idempotency_key": "idem-loan-0001", "reason": "x", "to": "reviewing",
                       "recommendation": "approve", "note": "收入稳定"},
        "notify": {"card_number": "6222020000000000004", "phone": "13900000001", "code": "123456"},
        "branch_lookup": {},
        "console": {"code": "a-code", "code_verifier": "v" * 43},
        "products": {**{f"q{n}": "3" for n in range(1, 11)}, "version": "v1", "agree": "true",
                     "sha256": hashlib.sha256(AGREEMENT.encode()).hexdigest(), "product": "FZ0001",
                     "card_ref": "d1", "amount": "1000", "disclosure": "true", "code": "123456",
                     "idempotency_key": "0" * 32, "units": "500.00"},
    }


def _properties(schema: dict, base: dict) -> set[str]:
    """A body schema's field names; with additionalProperties (the questionnaire's answers)
    every field of the feature's valid body too."""
    names = set(schema.get("properties", {})) | (set(base) if isinstance(schema.get("additionalProperties"), dict)
                                                 else set())
    for key in ("allOf", "oneOf", "anyOf"):
        for part in schema.get(key, []):
            names |= _properties(part, base)
    return names


def documented_fields(route: apps.Route, base: dict) -> set[str]:
    """The fields of the route's request body, as its OpenAPI file documents them."""
    from scripts import openapi_check

    spec = openapi_check.load(route.feature)
    body = spec["paths"][route.path][route.method.lower()].get("requestBody")
    if body is None:
        return set()
    content = openapi_check.resolve(spec, body)["content"].values()
    return set().union(*(_properties(media["schema"], base) for media in content))


def test_every_json_field_of_every_route_with_every_wrong_type(world):
    """Deterministic complement to the fuzzing above: each field a route's body documents,
    one at a time, as each JSON type that is not a string, in an otherwise valid body, sent to
    resources that exist and belong to the customer (a booking, an application, a binding,
    branch T01)."""
    baselines = _baselines()
    routes = [r for r in apps.routes() if r.method in apps.STATE_CHANGING and r.feature != "webhook"]
    failures: set[str] = set()
    for route in routes:
        base = baselines[route.feature]
        fields = documented_fields(route, base)
        unknown = fields - set(base) - {"csrf_token"}  # the session's token travels in its header too
        assert not unknown, f"{route.method} {route.path}: no valid value for {sorted(unknown)}"
        openid = _openid()
        headers = staff() if route.staff else customer(openid)
        path = route.path.format(**live.make(openid, route.path, branch_id="T01"))
        for name in sorted(fields):
            for wrong in WRONG_TYPES:
                body = json.dumps({**base, name: wrong}).encode()
                try:
                    world.send(route.feature, route.method, path, headers=headers, body=body,
                               allowed=('"RATE#',), label=f"{route.method} {route.path}")
                except AssertionError as failed:
                    failures.add(f"{route.method} {route.path} {name}={type(wrong).__name__}: {str(failed)[:160]}")
    assert not failures, "\n".join(sorted(failures))
    record("fuzz_types", "Fuzz: every JSON field of every state-changing route as every non-string type, on live "
           "resources",
           world.total(), _outcome(world))

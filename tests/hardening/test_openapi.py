"""schemathesis against the OpenAPI files (docs/api/*.yaml), over HTTP through the local
stack, state-aware: every operation is fuzzed as a customer with a session and CSRF token
(or the staff key) whose path parameters are, most of the time, resources that exist and
belong to that customer (tests/hardening/live.py), so the cases reach the handler's own
checks of a live booking, application, binding or branch instead of stopping at a 404.
A state-changing case that succeeds gives the operation a fresh customer and fresh
resources. No answer is a 5xx, every answer is documented (status, content type, body
schema), and a refused request stores nothing (moto's applied writes are watched request
by request; what an accepted request sets off on the queues is delivered before the next).

FUZZ_EXAMPLES sets the cases per operation (15 in `make test`; `make fuzz` runs many more).
Per operation, the figures go to test-artifacts/hardening/operations/<file>.json."""
from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.conftest import local_stack  # noqa: F401 - the stack fixture, reused
from tests.hardening import live
from tests.hardening.conftest import ARTIFACTS, record

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted(p for p in (ROOT / "docs" / "api").glob("*.yaml") if not p.name.startswith("_"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))  # per operation
# Refusals made before a handler looks at a live resource or a field: no or a dead session,
# a bad CSRF token or staff key, an unknown route or resource, a method or content type the
# route does not take. Any other answer (a login redirect aside) reached the handler's checks.
BEFORE_THE_HANDLER = {401, 403, 404, 405, 415}
LOGIN = "/connect/oauth2/authorize"
OPERATIONS = ARTIFACTS / "operations"


def reached(status: int, location: str) -> bool:
    return status not in BEFORE_THE_HANDLER and LOGIN not in location


class Customer:
    """The customer an operation is fuzzed as, with live resources for its path; `renew`
    after a case that changed them (cancelled, withdrew, unbound, signed out)."""

    def __init__(self, label: str, path: str, stack):
        self.label, self.path, self.stack, self.n = label, path, stack, 0
        self.renew()

    def renew(self) -> None:
        from tests.sessions import customer

        self.n += 1
        openid = f"o_fuzz_{self.label}_{self.n:04d}"
        if "/staff/" in self.path:
            from tests.staff_tokens import staff

            self.headers = {"Authorization": staff(branch=live.BRANCH)["Authorization"]}
        else:
            self.headers = customer(openid)
            del self.headers["Content-Type"]  # the generated case sets its own
        self.ids = live.make(openid, self.path)
        self.stack.settle_orders()  # what making them set off is answered and delivered before the next case

    def aim(self, case) -> bool:
        """Point the case's path parameters at the live resources, and a `branch_id` in its
        query or body at the live branch; whether the case now aims at anything live."""
        aimed = bool(self.ids)
        case.path_parameters = {**(case.path_parameters or {}), **self.ids}
        for fields in (case.query, case.body):
            if isinstance(fields, dict) and "branch_id" in fields:
                fields["branch_id"] = live.BRANCH
                aimed = True
        return aimed


def _checks():
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _brief(failure) -> str:
    """A failure's title and first lines of detail, on one line."""
    text = " ".join(str(getattr(failure, "message", "") or failure).split())
    return text[:160]


@pytest.fixture
def deliveries_on_call(local_stack):  # noqa: F811
    """The local core banking answers, and the queues are delivered, only when a case asks
    (Customer.renew, drain_queues), not in the background: an answer or a delivery (a notify
    event kept for quiet hours) would land while a refused request is checked for writes."""
    banking, delivery = local_stack.core_banking, local_stack.delivery
    banking.stop()
    delivery.stop()
    yield
    delivery.start()
    banking.start()


@pytest.mark.skipif(not SPECS, reason="no OpenAPI files yet")
@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_schemathesis(local_stack, moto_writes, deliveries_on_call, spec):  # noqa: F811
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis.errors import FailureGroup

    schema = schemathesis.openapi.from_path(str(spec))
    operations = [result.ok() for result in schema.get_all_operations()]
    if spec.stem == "webhook":  # WeChat's endpoint is the corpus' job; keep the OAuth callback
        operations = [op for op in operations if op.path != "/wechat"]
    checks = _checks()
    figures: dict[str, dict] = {}
    failures: list[str] = []
    local_stack.drain_queues()
    for op in operations:
        name = f"{op.method.upper()} {op.path}"
        who = Customer(f"{spec.stem}_{len(figures)}", op.path, local_stack)  # stored before any case runs
        statuses: Counter = Counter()
        count = {"reached": 0, "live": 0}
        cases = st.one_of(op.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE),
                          op.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE))

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=cases, aim=st.sampled_from(["live", "live", "live", "generated"]))
        def run(case, aim):
            if aim == "live" and who.aim(case):
                count["live"] += 1
            mark = len(moto_writes.applied)
            response = case.call(base_url=local_stack.url, headers=who.headers, timeout=20, allow_redirects=False)
            status = response.status_code
            statuses[status] += 1
            location = next((v for k, v in response.headers.items() if k.lower() == "location"), [""])
            count["reached"] += reached(status, location[0] if isinstance(location, list) else location)
            said = f"{name} {case.path_parameters} {case.query} {str(case.body)[:200]}"
            try:
                case.validate_response(response, checks=checks)
            except FailureGroup as group:
                failures.extend(f"{name}: {status} {type(f).__name__}: {_brief(f)} ({said})" for f in group.exceptions)
            if status >= 400:
                # rate-limit counters are spent by refused OTP requests on purpose
                stored = moto_writes.since(mark, allowed=('"RATE#',))
                if stored:
                    failures.append(f"{said}: {status} but stored {stored[:2]}")
            elif op.method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
                who.renew()
            else:
                local_stack.drain_queues()

        run()
        figures[name] = {"cases": sum(statuses.values()), "live": count["live"], "reached": count["reached"],
                         "statuses": {str(s): n for s, n in sorted(statuses.items())}}
    kinds = Counter(f.split(" (", 1)[0] for f in failures)
    assert not failures, "\n".join(f"{n}× {kind}" for kind, n in kinds.most_common(40))
    stuck = [name for name, row in figures.items() if not row["reached"]]
    assert not stuck, f"operations whose cases never reached the handler's checks: {stuck}"
    total: Counter = Counter()
    for row in figures.values():
        total.update({int(s): n for s, n in row["statuses"].items()})
    outcome = ", ".join(f"{n}×{s}" for s, n in sorted(total.items()))
    reached_all = sum(row["reached"] for row in figures.values())
    record(f"schemathesis_{spec.stem}", f"schemathesis: docs/api/{spec.name} (live resources)", sum(total.values()),
           f"{len(operations)} operations; {reached_all} reached the handler's checks; {outcome}; no 5xx; every "
           "answer documented; refused requests stored nothing")
    OPERATIONS.mkdir(parents=True, exist_ok=True)
    (OPERATIONS / f"{spec.stem}.json").write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")

"""schemathesis against the OpenAPI files (docs/api/*.yaml), over HTTP through the local
stack: every operation gets generated requests, with a customer's session cookie and CSRF
token (or the staff key) so they reach the real validation. No answer is a 5xx, and a
refused request stores nothing (moto's applied writes are watched request by request; what
an accepted request sets off on the queues is delivered before the next one)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.conftest import local_stack  # noqa: F401 - the stack fixture, reused
from tests.hardening.conftest import record

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted(p for p in (ROOT / "docs" / "api").glob("*.yaml") if not p.name.startswith("_"))
EXAMPLES = 15  # per operation: bounded, the whole file stays well under a minute


def _auth(path: str) -> dict[str, str]:
    import os

    from tests.sessions import customer

    if "/staff/" in path:
        return {"X-Api-Key": os.environ["STAFF_API_KEY"]}
    headers = customer("o_schemathesis_0001")
    del headers["Content-Type"]  # the generated case sets its own
    return headers


@pytest.mark.skipif(not SPECS, reason="no OpenAPI files yet")
@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_schemathesis(local_stack, moto_writes, spec):  # noqa: F811
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings

    schema = schemathesis.openapi.from_path(str(spec))
    operations = [result.ok() for result in schema.get_all_operations()]
    if spec.stem == "webhook":  # WeChat's endpoint is the corpus' job; keep the OAuth callback
        operations = [op for op in operations if op.path != "/wechat"]
    statuses: Counter = Counter()
    failures: list[str] = []
    local_stack.drain_queues()
    for op in operations:
        auth = _auth(op.path)  # a session of its own (logout may end it): stored before any case runs

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def run(case):
            mark = len(moto_writes.applied)
            response = case.call(base_url=local_stack.url, headers=auth, timeout=20,
                                 allow_redirects=False)
            statuses[response.status_code] += 1
            said = f"{op.method.upper()} {op.path} {case.path_parameters} {case.query} {str(case.body)[:200]}"
            if response.status_code >= 500:
                failures.append(f"{said}: {response.status_code} {response.text[:200]}")
            elif response.status_code >= 400:
                # rate-limit counters are spent by refused OTP requests on purpose
                stored = moto_writes.since(mark, allowed=('"RATE#',))
                if stored:
                    failures.append(f"{said}: {response.status_code} but stored {stored[:2]}")
            else:
                local_stack.drain_queues()

        run()
    assert not failures, "\n".join(failures[:20])
    outcome = ", ".join(f"{n}×{s}" for s, n in sorted(statuses.items()))
    record(f"schemathesis_{spec.stem}", f"schemathesis: docs/api/{spec.name}", sum(statuses.values()),
           f"{len(operations)} operations; {outcome}; no 5xx; refused requests stored nothing")

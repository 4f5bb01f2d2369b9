"""The role matrix: every staff route serverless.yml declares, called with a token of each
role and with none, answers as the role it states allows: no token 401, another role's
token 403 `role_required`, a token of a role it allows past the gate (whatever the route then
answers about the record). A staff route without a row here fails the test: every route
states its roles."""
from __future__ import annotations

import json

from chalice.test import Client

from functions.common.staff import AUDITOR, CUSTOMER_MANAGER, LOAN_APPROVER, LOAN_REVIEWER, ROLES
from tests.conftest import CONFIG
from tests.hardening import apps
from tests.hardening.conftest import record
from tests.staff_tokens import signed_in

BRANCH = "HS01"
TRANSITION = "/loans/staff/applications/{application_id}/transition"
# (method, path) → [(query or body, the roles that may call it)]
REVIEW = (LOAN_REVIEWER,)
MATRIX: dict[tuple[str, str], list[tuple[dict, tuple[str, ...]]]] = {
    ("GET", "/booking/staff/branches/{branch_id}/bookings"): [({"date": "2026-12-01"}, (CUSTOMER_MANAGER,))],
    ("POST", "/booking/staff/bookings/{booking_id}/outcome"): [({"status": "attended"}, (CUSTOMER_MANAGER,))],
    ("GET", "/loans/staff/applications"): [({}, (LOAN_REVIEWER, LOAN_APPROVER))],
    ("GET", "/loans/staff/applications/{application_id}"): [({"reason": "credit_review"}, REVIEW)],
    ("GET", "/loans/staff/applications/{application_id}/summary"): [({}, (LOAN_REVIEWER, LOAN_APPROVER))],
    ("POST", "/loans/staff/applications/{application_id}/recommendation"): [
        ({"recommendation": "approve", "note": "收入稳定"}, REVIEW)],
    ("GET", "/audit/staff/records"): [({"day": "2026-12-01"}, (AUDITOR,))],
    ("POST", TRANSITION): [({"to": "UNDER_REVIEW"}, REVIEW), ({"to": "APPROVED"}, (LOAN_APPROVER,)),
                           ({"to": "REJECTED"}, (LOAN_APPROVER,)), ({"to": "WITHDRAWN"}, REVIEW)],
}


def staff_events() -> dict[tuple[str, str], tuple[str, dict]]:
    """(METHOD, path) → (feature, http event) of every route under a `/staff/` path."""
    from infra.local.gateway import http_events

    out = {}
    for function in CONFIG.functions.values():
        for event in function.events:
            if isinstance(event, dict) and "http" in event:
                method, path = http_events(event["http"])
                if "/staff/" in path:
                    out[(method, path)] = (function.feature, event["http"])
    return out


def staff_routes() -> dict[tuple[str, str], str]:
    """(METHOD, path) → feature of every staff route."""
    return {route: feature for route, (feature, _) in staff_events().items()}


def test_every_staff_route_states_its_role_and_is_behind_the_authorizer():
    declared = staff_events()
    assert declared, "serverless.yml declares no staff route"
    assert set(declared) == set(MATRIX), "a staff route without its role in MATRIX, or a row for no route"
    assert {role for rows in MATRIX.values() for _, roles in rows for role in roles} == set(ROLES)
    for route, (_, event) in declared.items():
        authorizer = event.get("authorizer") or {}
        assert authorizer.get("name") == "staffAuthorizer" and authorizer.get("type") == "token", route
        assert 0 < authorizer["resultTtlInSeconds"] <= 300, route


def test_the_role_matrix(aws):
    tokens = {role: signed_in(f"only-{role}", role, branch=BRANCH).headers for role in ROLES}
    tokens[None] = {"Content-Type": "application/json"}
    clients: dict[str, Client] = {}
    seen = []
    for (method, path), feature in staff_routes().items():
        client = clients.setdefault(feature, Client(apps.app(feature)))
        url = path.replace("{branch_id}", BRANCH).replace("{booking_id}", "B0000000001") \
            .replace("{application_id}", "LA20261201A1B2C3D4E5")
        for fields, needed in MATRIX[(method, path)]:
            for role, headers in tokens.items():
                if method == "GET":
                    query = "&".join(f"{k}={v}" for k, v in fields.items())
                    res = client.http.get(url + (f"?{query}" if query else ""), headers=headers)
                else:
                    res = client.http.post(url, headers=headers, body=json.dumps(fields))
                answer = json.loads(res.body or b"{}")
                if role is None:
                    assert (res.status_code, answer.get("code")) == (401, "unauthorized"), (method, path, role)
                elif role not in needed:
                    assert (res.status_code, answer.get("code")) == (403, "role_required"), (method, path, fields, role)
                else:
                    assert res.status_code not in (401, 403), (method, path, fields, role, res.status_code, answer)
                seen.append((method, path, role, res.status_code))
    record("staff_roles", "Staff routes × every role and none", len(seen),
           f"{len(staff_routes())} routes × {len(ROLES)} roles + none: no token 401, another role 403, "
           "its own roles past the gate")

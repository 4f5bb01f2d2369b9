"""The audit trail is append-only for every function: no role may update or delete its
records (UpdateItem, DeleteItem, BatchWriteItem, PartiQL, or anything else that changes an
item or the table). Writers hold PutItem alone (functions/common/audit.py puts on the
condition that the record is new); the audit function only queries. Checked on the roles
as written (infra/iam/*.yml, through serverless.yml) and as packaged by osls."""
from __future__ import annotations

import copy

import pytest

from infra.local import slsconfig
from tests.infra.test_package import Package, packaged  # noqa: F401 - shared fixture

TABLE = "AuditTable"
WRITE = frozenset({"dynamodb:PutItem"})
READ = frozenset({"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"})
WRITERS = {"LoanApplyApiRole", "BookingApiRole"}
READERS = {"AuditApiRole"}


def _names_the_table(resource) -> bool:
    """Whether an IAM Resource can reach the audit table or its indexes ('*' and wildcards
    count: they reach everything)."""
    if resource == "*":
        return True  # the caller keeps this to data actions
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return resource["Fn::GetAtt"][0] == TABLE
    text = resource.get("Fn::Sub", "") if isinstance(resource, dict) else str(resource)
    text = text[0] if isinstance(text, list) else text
    return f"${{{TABLE}.Arn}}" in text or "table/*" in text or text.endswith(":*")


def audit_grants(resources: dict) -> dict[str, set[str]]:
    """{role: every action it is granted on the audit table or its indexes}."""
    out: dict[str, set[str]] = {}
    for logical, role in resources.items():
        if role.get("Type") != "AWS::IAM::Role":
            continue
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement.get("Action") or statement.get("NotAction") or []
                actions = {actions} if isinstance(actions, str) else set(actions)
                if "NotAction" in statement or "NotResource" in statement:
                    reaches = any(a.startswith("dynamodb:") or a == "*" for a in actions) or "NotAction" in statement
                else:
                    listed = statement.get("Resource", [])
                    data = any(a.startswith("dynamodb:") or a == "*" for a in actions)
                    reaches = any(_names_the_table(r) and (r != "*" or data)
                                  for r in (listed if isinstance(listed, list) else [listed]))
                if reaches and statement.get("Effect") == "Allow":
                    out.setdefault(logical, set()).update(actions)
    return out


def check(resources: dict) -> list[str]:
    problems = []
    for role, actions in audit_grants(resources).items():
        allowed = WRITE if role in WRITERS else READ if role in READERS else frozenset()
        if not actions <= allowed:
            problems.append(f"{role}: {sorted(actions - allowed)} on the audit trail")
    return problems


def test_the_roles_as_written_may_only_append_to_or_read_the_trail():
    resources = slsconfig.load("local").resources
    assert check(resources) == []
    granted = audit_grants(resources)
    assert {role for role, actions in granted.items() if actions == WRITE} == WRITERS
    assert granted["AuditApiRole"] == {"dynamodb:Query"}


@pytest.mark.parametrize("action", ["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
                                    "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete", "dynamodb:*"])
@pytest.mark.parametrize("resource", [{"Fn::GetAtt": [TABLE, "Arn"]}, {"Fn::Sub": "${AuditTable.Arn}/index/by_day"},
                                      "*"])
def test_a_role_that_could_change_a_record_is_caught(action, resource):
    resources = copy.deepcopy(slsconfig.load("local").resources)
    statements = resources["BookingApiRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    statements.append({"Effect": "Allow", "Action": [action], "Resource": resource})
    assert check(resources) == [f"BookingApiRole: ['{action}'] on the audit trail"]


@pytest.mark.slow
@pytest.mark.xdist_group("package")
def test_the_packaged_roles_may_only_append_to_or_read_the_trail(packaged: Package):  # noqa: F811
    assert check(packaged.resources) == []
    assert set(audit_grants(packaged.resources)) == WRITERS | READERS

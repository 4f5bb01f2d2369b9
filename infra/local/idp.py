"""The staff identity provider, locally: moto's cognito-idp holds the user pool the
template defines (infra/resources/staff.yml, created by resources.create_all) and issues
RS256-signed tokens and serves their JWKS; this module adds staff to it, signs them in,
and plays the front end a bank's IdP has (discovery document, an authorize page listing
the demo staff, a token endpoint exchanging an authorization code, PKCE checked). It is
not product code: in AWS, Cognito's hosted UI or the bank's own IdP is the front end."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

PASSWORD = "Local-Staff-2026"  # noqa: S105 - the demo staff's password, the local stack only
CODE_TTL_S = 120
PREFIX = "/_local/idp"


@dataclass(frozen=True)
class DemoStaff:
    username: str
    name: str
    roles: tuple[str, ...]
    branch: str | None = None


# Every role, and customer managers of two branches (infra/local/demo/branch_lookup.json).
DEMO_STAFF = (
    DemoStaff("cm.hs01", "王丽（天一广场）", ("customer_manager",), "HS01"),
    DemoStaff("cm.hs02", "李伟（鼓楼）", ("customer_manager",), "HS02"),
    DemoStaff("reviewer.a", "张敏（审查）", ("loan_reviewer",)),
    DemoStaff("reviewer.b", "刘洋（审查）", ("loan_reviewer",)),
    DemoStaff("approver.a", "陈静（审批）", ("loan_approver",)),
    DemoStaff("approver.b", "杨磊（审批）", ("loan_approver",)),
    DemoStaff("auditor", "黄芳（审计）", ("auditor",)),
)


def pool() -> tuple[str, str]:
    """(user pool id, client id) of the stage's staff pool, from the functions' settings."""
    issuer, client_id = os.environ["STAFF_OIDC_ISSUER"], os.environ["STAFF_OIDC_AUDIENCE"]
    return issuer.rstrip("/").rsplit("/", 1)[1], client_id


def _client(session: Any = None) -> Any:
    import boto3

    pool_id, _ = pool()
    return (session or boto3.session.Session()).client("cognito-idp", region_name=pool_id.split("_", 1)[0])


def add_staff(member: DemoStaff, session: Any = None) -> None:
    """Create (or update) a member of staff in the pool, with their groups and branch."""
    idp = _client(session)
    pool_id, _ = pool()
    attributes = [{"Name": "name", "Value": member.name}]
    if member.branch:
        attributes.append({"Name": "custom:branch", "Value": member.branch})
    try:
        idp.admin_create_user(UserPoolId=pool_id, Username=member.username, UserAttributes=attributes,
                              MessageAction="SUPPRESS")
    except idp.exceptions.UsernameExistsException:
        idp.admin_update_user_attributes(UserPoolId=pool_id, Username=member.username, UserAttributes=attributes)
    idp.admin_set_user_password(UserPoolId=pool_id, Username=member.username, Password=PASSWORD, Permanent=True)
    listed = idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=member.username)["Groups"]
    held = {g["GroupName"] for g in listed}
    for role in held - set(member.roles):
        idp.admin_remove_user_from_group(UserPoolId=pool_id, Username=member.username, GroupName=role)
    for role in set(member.roles) - held:
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=member.username, GroupName=role)


def sign_in(username: str, session: Any = None) -> dict[str, str]:
    """The tokens the pool issues to a member of staff ({"IdToken", "AccessToken", ...})."""
    idp = _client(session)
    pool_id, client_id = pool()
    answer = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    return answer["AuthenticationResult"]


def load() -> int:
    """The demo staff (make run); returns how many."""
    for member in DEMO_STAFF:
        add_staff(member)
    return len(DEMO_STAFF)

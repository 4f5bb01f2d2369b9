"""Members of staff signed in for tests as the console signs them in: a user of the stage's
staff pool (moto's cognito-idp, in the `aws` fixture's account or the local stack's) with
their groups and branch, and the ID token the pool issues them."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from functions.common.staff import AUDITOR, CUSTOMER_MANAGER, LOAN_APPROVER, LOAN_REVIEWER, ROLES, Staff
from infra.local import idp
from tests.aws_clients import clients

__all__ = ["AUDITOR", "CUSTOMER_MANAGER", "LOAN_APPROVER", "LOAN_REVIEWER", "ROLES", "Signed", "member", "signed_in",
           "staff", "subject_of"]


@dataclass(frozen=True)
class Signed:
    token: str
    subject: str  # the pool's `sub`: what the functions record as the member of staff

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}


def signed_in(username: str, *roles: str, branch: str | None = None) -> Signed:
    """`username` in the pool with exactly these roles (groups) and branch, signed in."""
    idp.add_staff(idp.DemoStaff(username, username, roles, branch), clients)
    token = idp.sign_in(username, clients)["IdToken"]
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return Signed(token, claims["sub"])


def staff(*roles: str, username: str = "staff-1", branch: str | None = None) -> dict[str, str]:
    """Headers of a newly signed-in member of staff with `roles` (every role when none)."""
    return signed_in(username, *(roles or ROLES), branch=branch).headers


def subject_of(username: str) -> str:
    """The verified subject (the pool's `sub`) of a member of staff already in the pool: what
    the functions record for them."""
    pool_id, _ = idp.pool()
    cognito = clients.client("cognito-idp", region_name=pool_id.split("_", 1)[0])
    user = cognito.admin_get_user(UserPoolId=pool_id, Username=username)
    return next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")


def member(subject: str = "reviewer-1", role: str = LOAN_REVIEWER, branch: str | None = None) -> Staff:
    """A member of staff as the actions receive one (for tests that call them directly)."""
    return Staff(subject=subject, name=subject, roles=frozenset({role}), branch=branch,
                 source_ip="198.51.100.7", user_agent="pytest")

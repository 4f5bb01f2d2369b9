"""How the tests identify a member of staff to the back office: a user of the stage's staff
pool signed in (tests/staff_tokens.py), whose ID token travels as a bearer token. `role` is
the one role (group) the user holds; `branch` their branch claim."""
from __future__ import annotations

from functions.common import staff
from tests.staff_tokens import signed_in


def staff_headers(username: str = "reviewer-1", role: str = staff.LOAN_REVIEWER,
                  branch: str | None = None) -> dict[str, str]:
    """Headers of a JSON request by `username` acting in `role` (of `branch`, for a customer
    manager)."""
    return signed_in(username, role, branch=branch).headers


def member(subject: str = "reviewer-1", role: str = staff.LOAN_REVIEWER, branch: str | None = None) -> staff.Staff:
    """A member of staff as the actions receive one (for tests that call them)."""
    return staff.Staff(subject=subject, name=subject, roles=frozenset({role}), branch=branch,
                       source_ip="198.51.100.7", user_agent="pytest")

"""How the tests identify a member of staff to the back office: the one place that knows how
a staff identity travels on a request (today main's staff key and identity headers; a
verified token when the identity provider replaces them). `role` is the role the identity
holds; the key grants each route the role it asks for."""
from __future__ import annotations

from functions.common import staff

STAFF_KEY = "local-staff-key"


def staff_headers(subject: str = "reviewer-1", role: str = staff.LOAN_REVIEWER, branch: str | None = None,
                  key: str = STAFF_KEY) -> dict[str, str]:
    """Headers of a JSON request by `subject` acting in `role` (of `branch`, for a customer
    manager)."""
    headers = {"X-Api-Key": key, "X-Staff-Id": subject, "X-Staff-Role": role, "Content-Type": "application/json"}
    if branch is not None:
        headers["X-Staff-Branch"] = branch
    return headers


def member(subject: str = "reviewer-1", role: str = staff.LOAN_REVIEWER, branch: str | None = None) -> staff.Staff:
    """The same member of staff as the actions receive it (for tests that call them)."""
    return staff.Staff(subject=subject, name=subject, roles=frozenset({role}), branch=branch,
                       source_ip="198.51.100.7", user_agent="pytest")

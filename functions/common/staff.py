"""Who a member of staff is and what they may do: the identity every back-office route acts
under. Features take a `Staff` from `http.require_staff(request, role)` and never read an
identity from anything the caller writes themselves."""
from __future__ import annotations

from dataclasses import dataclass

CUSTOMER_MANAGER = "customer_manager"  # bookings of their own branch: day list, outcome
LOAN_REVIEWER = "loan_reviewer"  # loan queue, decrypted read, UNDER_REVIEW, recommendation
LOAN_APPROVER = "loan_approver"  # approve / reject
AUDITOR = "auditor"  # the audit trail, nothing else
ROLES = (CUSTOMER_MANAGER, LOAN_REVIEWER, LOAN_APPROVER, AUDITOR)


@dataclass(frozen=True)
class Staff:
    """A member of staff on one request: `subject` is the identity provider's stable id,
    `name` what the console shows, `branch` the branch claim (None for head office), and
    where the request came from, for the audit trail."""

    subject: str
    name: str
    roles: frozenset[str]
    branch: str | None = None
    source_ip: str = ""
    user_agent: str = ""

    def has(self, role: str) -> bool:
        return role in self.roles

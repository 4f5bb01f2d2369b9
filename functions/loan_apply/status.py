"""Application status: SUBMITTED → UNDER_REVIEW → APPROVED | REJECTED; the applicant may
withdraw before a decision. Anything not listed here is an illegal transition."""
from __future__ import annotations

SUBMITTED, UNDER_REVIEW, APPROVED, REJECTED, WITHDRAWN = (
    "SUBMITTED", "UNDER_REVIEW", "APPROVED", "REJECTED", "WITHDRAWN",
)
ALL = (SUBMITTED, UNDER_REVIEW, APPROVED, REJECTED, WITHDRAWN)
OPEN = frozenset({SUBMITTED, UNDER_REVIEW})
# Purged after the configured retention period (TTL); approved ones go on to the loan file.
PURGED = frozenset({REJECTED, WITHDRAWN})
LABELS = {
    SUBMITTED: "已提交",
    UNDER_REVIEW: "审核中",
    APPROVED: "已通过",
    REJECTED: "未通过",
    WITHDRAWN: "已撤回",
}

STAFF, APPLICANT = "staff", "applicant"
ALLOWED: dict[tuple[str, str], str] = {
    (SUBMITTED, UNDER_REVIEW): STAFF,
    (UNDER_REVIEW, APPROVED): STAFF,
    (UNDER_REVIEW, REJECTED): STAFF,
    (SUBMITTED, WITHDRAWN): APPLICANT,
    (UNDER_REVIEW, WITHDRAWN): APPLICANT,
}
# A decision must say why; the applicant reads it.
REASON_REQUIRED = frozenset({REJECTED})


def allowed(current: str, target: str, role: str) -> bool:
    return ALLOWED.get((current, target)) == role


def can_withdraw(current: str) -> bool:
    return allowed(current, WITHDRAWN, APPLICANT)

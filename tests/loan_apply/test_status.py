"""The status machine as data: what each role may do from each status."""
import itertools

from functions.loan_apply import status


def test_the_allowed_transitions_are_exactly_the_workflow():
    every = itertools.product(status.ALL, status.ALL, (status.STAFF, status.APPLICANT))
    allowed = {(a, b, role) for a, b, role in every if status.allowed(a, b, role)}
    assert allowed == {
        ("SUBMITTED", "UNDER_REVIEW", "staff"),
        ("UNDER_REVIEW", "APPROVED", "staff"),
        ("UNDER_REVIEW", "REJECTED", "staff"),
        ("SUBMITTED", "WITHDRAWN", "applicant"),
        ("UNDER_REVIEW", "WITHDRAWN", "applicant"),
    }


def test_only_undecided_applications_can_be_withdrawn():
    assert [s for s in status.ALL if status.can_withdraw(s)] == ["SUBMITTED", "UNDER_REVIEW"]
    assert status.PURGED == {"REJECTED", "WITHDRAWN"}

"""loan_apply's rules (no AWS needed): the form field by field, the pre-screen and its
instalment formula, and the status workflow as data."""
import itertools
from datetime import date

import pytest

from functions.common import staff
from functions.common.errors import ApiError, ValidationFailed
from functions.loan_apply import catalogue, service
from tests.loan_apply.conftest import form, resident_id


def codes(data: dict) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        service.parse_form(data, catalogue.load())
    return {f.field: f.code for f in caught.value.fields}


def with_check_digit(body17: str) -> str:
    from stdnum.cn import ric

    return body17 + ric.calc_check_digit(body17 + "0")


GOOD_ID = resident_id(date(1990, 5, 17))
WRONG_DIGIT = "0" if GOOD_ID[-1] != "0" else "1"


def test_a_complete_form_parses_to_fen_and_normalised_values():
    parsed = service.parse_form(form(amount="1,000.50", phone="+86 138 1234 5678", id_number=f" {GOOD_ID} "),
                              catalogue.load())
    assert parsed.amount_fen == 100050
    assert parsed.monthly_income_fen == 1500000
    assert parsed.phone == "13812345678"
    assert parsed.term_months == 24
    assert parsed.birth_date == date(1990, 5, 17)
    assert parsed.id_number == GOOD_ID


def test_resident_id_with_an_x_check_digit_is_accepted():
    for serial in range(100, 200):
        number = resident_id(date(1985, 1, 1), str(serial))
        if number.endswith("X"):
            assert service.parse_form(form(id_number=number.lower()), catalogue.load()).id_number == number
            return
    pytest.fail("no X check digit in the sample")


@pytest.mark.parametrize(
    ("id_number", "code"),
    [
        (GOOD_ID[:-1] + WRONG_DIGIT, "id_number_checksum"),
        (GOOD_ID[:17], "id_number_format"),
        (GOOD_ID + "1", "id_number_format"),
        ("33020319900517A234", "id_number_format"),
        (with_check_digit("33020319901317123"), "id_number_invalid"),  # 13th month
        (with_check_digit("33020319900230123"), "id_number_invalid"),  # 30 February
        (with_check_digit("99999919900517123"), "id_number_invalid"),  # no such area
    ],
)
def test_resident_id_errors(id_number, code):
    assert codes(form(id_number=id_number))["id_number"] == code


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (date(2008, 3, 15), date(2026, 3, 15), 18),  # 18th birthday
        (date(2008, 3, 16), date(2026, 3, 15), 17),  # the day before it
        (date(1961, 3, 15), date(2026, 3, 15), 65),
        (date(1960, 3, 15), date(2026, 3, 15), 66),
        (date(1960, 3, 16), date(2026, 3, 15), 65),
        (date(2008, 2, 29), date(2026, 2, 28), 17),  # leap-day births turn on 1 March
        (date(2008, 2, 29), date(2026, 3, 1), 18),
    ],
)
def test_age_in_whole_years(birth, today, age):
    assert service.age_on(birth, today) == age


@pytest.mark.parametrize("phone", ["12345678901", "057487654321", "+85261234567", "1381234567", "电话"])
def test_only_mainland_mobiles_are_accepted(phone):
    assert codes(form(phone=phone))["phone"] == "phone_invalid"


@pytest.mark.parametrize("amount", ["abc", "1.234", "0", "-5", "NaN", "1e20"])
def test_bad_amounts(amount):
    assert codes(form(amount=amount))["amount"] == "amount_invalid"


def test_consent_is_required_and_must_be_the_current_version():
    assert codes(form(consent=None))["consent"] == "consent_required"
    assert codes(form(consent="false"))["consent"] == "consent_required"
    assert codes(form(consent_version="2000-01"))["consent"] == "consent_outdated"


def test_every_bad_field_is_reported_at_once_without_echoing_input():
    found = codes({"product": "consumer_loan", "name": "X", "id_number": "123", "phone": "555", "amount": "x",
                   "term": "abc", "monthly_income": "-1", "employment_type": "pirate", "purpose": "yacht",
                   "city": "N1"})
    assert found == {
        "name": "name_invalid", "id_number": "id_number_format", "phone": "phone_invalid", "amount": "amount_invalid",
        "term": "term_invalid", "monthly_income": "monthly_income_invalid",
        "employment_type": "employment_type_invalid", "purpose": "purpose_invalid", "city": "city_invalid",
        "consent": "consent_required",
    }
    with pytest.raises(ValidationFailed) as caught:
        service.parse_form(form(id_number="330203199005171230", phone="13912345678"), catalogue.load())
    text = str(caught.value.body())
    assert "330203199005171230" not in text and "13912345678" not in text


def test_required_fields_follow_the_product():
    assert codes(form(term=None, purpose=None)) == {"term": "required", "purpose": "required"}
    card = service.parse_form(form(product="credit_card", amount="20000", term=None, purpose=None), catalogue.load())
    assert card.term_months is None and card.purpose is None
    assert codes(form(product="yacht_loan"))["product"] == "product_unknown"
    assert codes(form(product=None))["product"] == "required"


def test_older_customers_from_newer_districts_are_accepted():
    # Haishu (330203) dates from 1983; its residents born earlier hold numbers issued later
    born_1960 = with_check_digit("33020319600315123")
    assert service.parse_form(form(id_number=born_1960), catalogue.load()).birth_date == date(1960, 3, 15)
    assert codes(form(id_number=with_check_digit("33999919600315123")))["id_number"] == "id_number_invalid"


def screen(age: int = 35, **overrides) -> service.Prescreen:
    cat = catalogue.load()
    return service.prescreen(cat, service.parse_form(form(**overrides), cat), age)


def reason_codes(result: service.Prescreen) -> set[str]:
    return {r.code for r in result.reasons}


def test_equal_instalment_formula():
    loan = catalogue.load().products["consumer_loan"]  # 4.80 % a year
    # 50,000 yuan over 24 months: 50000·0.004·1.004^24 / (1.004^24 − 1) = 2189.0938… → rounded up
    assert service.monthly_instalment(loan, 5_000_000, 24) == 218_910
    assert service.monthly_instalment(loan, 1_200_000, 12) == 102_620  # 1026.1903… yuan
    card = catalogue.load().products["credit_card"]  # 10 % minimum payment
    assert service.monthly_instalment(card, 2_000_000, None) == 200_000


def test_a_plain_application_is_eligible_and_carries_its_ratio():
    result = screen()
    assert result.verdict == service.ELIGIBLE and result.reasons == ()
    assert result.instalment_fen == 218_910
    assert result.ratio_bp == 218_910 * 10000 // 1_500_000


@pytest.mark.parametrize(
    ("overrides", "age", "code"),
    [
        ({}, 17, "age"),
        ({}, 66, "age"),
        ({"product": "business_loan", "purpose": "working_capital", "amount": "100000", "term": "12"}, 35,
         "employment_not_eligible"),
        ({"monthly_income": "0"}, 35, "no_income"),
        ({"monthly_income": "3000"}, 35, "instalment_too_high"),  # 2189 / 3000 = 73 %
    ],
)
def test_not_eligible_reasons(overrides, age, code):
    result = screen(age=age, **overrides)
    assert result.verdict == service.NOT_ELIGIBLE
    assert code in reason_codes(result)


def test_age_limits_are_inclusive():
    assert "age" not in reason_codes(screen(age=18))
    assert "age" not in reason_codes(screen(age=65))


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"amount": "999.99"}, "amount", "amount_out_of_range"),
        ({"amount": "300000.01"}, "amount", "amount_out_of_range"),
        ({"amount": "5000000"}, "amount", "amount_out_of_range"),
        ({"term": "18"}, "term", "term_out_of_range"),
    ],
)
def test_outside_the_products_range_is_a_field_error_not_a_reason(overrides, field, code):
    assert codes(form(**overrides)) == {field: code}
    with pytest.raises(ValidationFailed) as caught:
        service.parse_form(form(amount="5000000"), catalogue.load())
    assert caught.value.fields[0].message == "个人消费贷款可申请¥1,000.00至¥300,000.00"


def test_the_share_of_income_is_shown_only_while_it_is_one():
    above_income = screen(monthly_income="100")  # ¥2,189.10 a month on ¥100 of income
    [reason] = above_income.reasons
    assert reason.code == "instalment_too_high" and "%" not in reason.message and "超过月收入" in reason.message
    [reason] = screen(monthly_income="3000").reasons
    assert reason.message == "预计月还款¥2,189.10，约占月收入的73%，超过70%"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"monthly_income": "4000"}, "instalment_high"),  # 2189 / 4000 = 54.7 %
        ({"amount": "250000", "term": "60", "monthly_income": "30000"}, "large_amount"),
        ({"employment_type": "freelancer"}, "employment_review"),
        ({"city": "北京市"}, "outside_service_area"),
    ],
)
def test_needs_review_reasons(overrides, code):
    result = screen(**overrides)
    assert result.verdict == service.NEEDS_REVIEW
    assert reason_codes(result) == {code}


def test_not_eligible_outranks_needs_review_and_lists_only_its_own_reasons():
    result = screen(age=70, city="北京")
    assert result.verdict == service.NOT_ELIGIBLE and reason_codes(result) == {"age"}
    card = screen(product="credit_card", amount="20000", term=None, purpose=None)
    assert card.verdict == service.ELIGIBLE and card.instalment_fen == 200_000


def test_city_suffix_is_ignored():
    assert "outside_service_area" not in reason_codes(screen(city="宁波市"))


def test_ages_come_from_the_birth_date():
    parsed = service.parse_form(form(), catalogue.load())
    assert service.age_on(parsed.birth_date, date(2026, 3, 15)) == 35


def test_the_allowed_transitions_are_exactly_the_workflow():
    every = itertools.product(service.STATUSES, service.STATUSES, (*staff.ROLES, service.APPLICANT))
    allowed = {(a, b, role) for a, b, role in every if service.allowed(a, b, role)}
    assert allowed == {
        ("SUBMITTED", "UNDER_REVIEW", "loan_reviewer"),
        ("UNDER_REVIEW", "APPROVED", "loan_approver"),
        ("UNDER_REVIEW", "REJECTED", "loan_approver"),
        ("SUBMITTED", "WITHDRAWN", "applicant"),
        ("UNDER_REVIEW", "WITHDRAWN", "applicant"),
    }


def test_only_undecided_applications_can_be_withdrawn():
    assert [s for s in service.STATUSES if service.can_withdraw(s)] == ["SUBMITTED", "UNDER_REVIEW"]
    assert service.PURGED == {"REJECTED", "WITHDRAWN"}


# ---- four eyes -----------------------------------------------------------------------------

LIMIT = 20_000_000  # ¥200,000 in fen, the default
REVIEWED = [service.Step(service.SUBMIT, "o_applicant"), service.Step(service.REVIEW, "reviewer-1")]


def refusal(call) -> tuple[int, str]:
    with pytest.raises(ApiError) as refused:
        call()
    assert refused.value.message  # a sentence for the member of staff
    return refused.value.status, refused.value.code


def test_whoever_reviewed_or_recommended_may_not_decide():
    recommended = [*REVIEWED, service.Step(service.RECOMMEND, "reviewer-2")]
    for target in (service.APPROVED, service.REJECTED):
        for reviewer in ("reviewer-1", "reviewer-2"):
            decided = lambda: service.decide(target, reviewer, 5_000_000, recommended, LIMIT)  # noqa: E731
            assert refusal(decided) == (403, "approver_is_reviewer")
        assert service.decide(target, "approver-1", 5_000_000, recommended, LIMIT) == target


def test_up_to_the_limit_one_approval_decides_above_it_two_different_approvers_must_approve():
    assert service.decide(service.APPROVED, "approver-1", LIMIT, REVIEWED, LIMIT) == service.APPROVED
    # one fen more: the first approval leaves the application under review
    assert service.decide(service.APPROVED, "approver-1", LIMIT + 1, REVIEWED, LIMIT) == service.UNDER_REVIEW
    once = [*REVIEWED, service.Step(service.APPROVE, "approver-1")]
    again = lambda: service.decide(service.APPROVED, "approver-1", LIMIT + 1, once, LIMIT)  # noqa: E731
    assert refusal(again) == (409, "second_approver_required")
    assert service.decide(service.APPROVED, "approver-2", LIMIT + 1, once, LIMIT) == service.APPROVED
    # the second approver is held to the reviewer rule too
    reviewer = lambda: service.decide(service.APPROVED, "reviewer-1", LIMIT + 1, once, LIMIT)  # noqa: E731
    assert refusal(reviewer) == (403, "approver_is_reviewer")


def test_one_rejection_decides_whatever_the_amount_but_not_by_an_approver_who_approved():
    once = [*REVIEWED, service.Step(service.APPROVE, "approver-1")]
    assert service.decide(service.REJECTED, "approver-2", LIMIT * 10, once, LIMIT) == service.REJECTED
    changed_mind = lambda: service.decide(service.REJECTED, "approver-1", LIMIT * 10, once, LIMIT)  # noqa: E731
    assert refusal(changed_mind) == (409, "second_approver_required")


def test_the_limit_is_a_setting():
    assert service.approvals_needed(LIMIT + 1, LIMIT) == 2
    assert service.approvals_needed(LIMIT + 1, LIMIT * 2) == 1


def test_a_recommendation_is_approve_or_reject_with_a_note_every_bad_field_at_once():
    assert service.check_recommendation("approve", "  收入稳定 ") == ("approve", "收入稳定")
    with pytest.raises(ValidationFailed) as failed:
        service.check_recommendation("maybe", "")
    assert [(f.field, f.code) for f in failed.value.fields] == [
        ("recommendation", "recommendation_unknown"), ("note", "required")]
    with pytest.raises(ValidationFailed) as failed:
        service.check_recommendation(None, "长" * 201)
    assert [(f.field, f.code) for f in failed.value.fields] == [
        ("recommendation", "required"), ("note", "note_too_long")]
    assert refusal(lambda: service.check_under_review(service.SUBMITTED)) == (409, "not_under_review")


def test_the_workflow_roles_are_the_staff_roles():
    assert {role for role in service.TRANSITIONS.values() if role != service.APPLICANT} == {
        staff.LOAN_REVIEWER, staff.LOAN_APPROVER}

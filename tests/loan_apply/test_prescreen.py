"""Pre-screen rules and the instalment formula (no AWS needed)."""
from datetime import date

import pytest

from functions.loan_apply import catalogue, prescreen, validation
from tests.loan_apply.conftest import form


def screen(age: int = 35, has_open: bool = False, **overrides) -> prescreen.Result:
    cat = catalogue.load()
    return prescreen.evaluate(cat, validation.parse(form(**overrides), cat), age, has_open)


def reason_codes(result: prescreen.Result) -> set[str]:
    return {r.code for r in result.reasons}


def test_equal_instalment_formula():
    loan = catalogue.load().products["consumer_loan"]  # 4.80 % a year
    # 50,000 yuan over 24 months: 50000·0.004·1.004^24 / (1.004^24 − 1) = 2189.0938… → rounded up
    assert prescreen.monthly_instalment(loan, 5_000_000, 24) == 218_910
    assert prescreen.monthly_instalment(loan, 1_200_000, 12) == 102_620  # 1026.1903… yuan
    card = catalogue.load().products["credit_card"]  # 10 % minimum payment
    assert prescreen.monthly_instalment(card, 2_000_000, None) == 200_000


def test_a_plain_application_is_eligible_and_carries_its_ratio():
    result = screen()
    assert result.verdict == prescreen.ELIGIBLE and result.reasons == ()
    assert result.instalment_fen == 218_910
    assert result.ratio_bp == 218_910 * 10000 // 1_500_000


@pytest.mark.parametrize(
    ("overrides", "age", "code"),
    [
        ({}, 17, "age"),
        ({}, 66, "age"),
        ({"amount": "999.99"}, 35, "amount_out_of_range"),
        ({"amount": "300000.01"}, 35, "amount_out_of_range"),
        ({"term": "18"}, 35, "term_out_of_range"),
        ({"product": "business_loan", "purpose": "working_capital", "amount": "100000", "term": "12"}, 35,
         "employment_not_eligible"),
        ({"monthly_income": "0"}, 35, "no_income"),
        ({"monthly_income": "3000"}, 35, "instalment_too_high"),  # 2189 / 3000 = 73 %
    ],
)
def test_not_eligible_reasons(overrides, age, code):
    result = screen(age=age, **overrides)
    assert result.verdict == prescreen.NOT_ELIGIBLE
    assert code in reason_codes(result)


def test_age_limits_are_inclusive():
    assert "age" not in reason_codes(screen(age=18))
    assert "age" not in reason_codes(screen(age=65))


def test_open_application_for_the_same_product_is_not_eligible():
    result = screen(has_open=True)
    assert result.verdict == prescreen.NOT_ELIGIBLE and reason_codes(result) == {"open_application"}


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
    assert result.verdict == prescreen.NEEDS_REVIEW
    assert reason_codes(result) == {code}


def test_not_eligible_outranks_needs_review_and_cards_have_no_term():
    result = screen(age=70, city="北京")
    assert result.verdict == prescreen.NOT_ELIGIBLE and reason_codes(result) == {"age", "outside_service_area"}
    card = screen(product="credit_card", amount="20000", term=None, purpose=None)
    assert card.verdict == prescreen.ELIGIBLE and card.instalment_fen == 200_000


def test_city_suffix_is_ignored():
    assert "outside_service_area" not in reason_codes(screen(city="宁波市"))


def test_ages_come_from_the_birth_date():
    parsed = validation.parse(form(), catalogue.load())
    assert validation.age_on(parsed.birth_date, date(2026, 3, 15)) == 35

"""The suitability rules: every customer level against every product risk, the
questionnaire's scoring (and refusals by question), an assessment's validity."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.common.errors import ValidationFailed
from functions.products import suitability
from functions.products.suitability import QUESTIONNAIRE

LEVELS = ["C1", "C2", "C3", "C4", "C5"]
RISKS = ["R1", "R2", "R3", "R4", "R5"]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("risk", RISKS)
def test_the_suitability_matrix(level, risk):
    assert suitability.suitable(level, risk) is (RISKS.index(risk) <= LEVELS.index(level))


def answers(*picks: int) -> dict[str, str]:
    return {q.id: str(pick) for q, pick in zip(QUESTIONNAIRE.questions, picks, strict=True)}


@pytest.mark.parametrize(("picks", "score", "level"), [
    ((1,) * 10, 10, "C1"),
    ((2,) * 10, 20, "C1"),
    ((2,) * 9 + (3,), 21, "C2"),
    ((3, 3, 3, 3, 3, 3, 3, 3, 2, 2), 28, "C2"),
    ((3, 3, 3, 3, 3, 3, 3, 3, 3, 2), 29, "C3"),
    ((4, 4, 4, 4, 4, 4, 3, 3, 3, 3), 36, "C3"),
    ((4, 4, 4, 4, 4, 4, 4, 3, 3, 3), 37, "C4"),
    ((4, 4, 4, 4, 4, 4, 4, 5, 5, 5), 43, "C4"),
    ((5, 5, 5, 5, 4, 4, 4, 4, 4, 4), 44, "C5"),
    ((5,) * 10, 50, "C5"),
])
def test_scores_fall_into_the_five_levels_at_their_bounds(picks, score, level):
    assert suitability.score(QUESTIONNAIRE, answers(*picks)) == (score, level)


def test_every_question_unanswered_or_off_the_list_is_named():
    given = answers(*(3,) * 10)
    given.update(q1="", q2="6", q3="0", q4="x", q5=" 2 ")
    del given["q10"]
    with pytest.raises(ValidationFailed) as caught:
        suitability.score(QUESTIONNAIRE, given)
    found = {(e.field, e.code) for e in caught.value.fields}
    assert found == {("q1", "required"), ("q2", "invalid_choice"), ("q3", "invalid_choice"),
                     ("q4", "invalid_choice"), ("q10", "required")}


def test_the_questionnaire_is_versioned_and_every_question_has_scored_options():
    assert QUESTIONNAIRE.version and len(QUESTIONNAIRE.questions) == 10
    assert len({q.id for q in QUESTIONNAIRE.questions}) == 10
    assert all([s for _, s in q.options] == [1, 2, 3, 4, 5] for q in QUESTIONNAIRE.questions)


@pytest.mark.parametrize(("assessed", "months", "until"), [
    (datetime(2026, 11, 30, 2, 0, tzinfo=UTC), 12, datetime(2027, 11, 30, 2, 0, tzinfo=UTC)),
    (datetime(2026, 1, 31, 2, 0, tzinfo=UTC), 1, datetime(2026, 2, 28, 2, 0, tzinfo=UTC)),
    (datetime(2027, 2, 28, 2, 0, tzinfo=UTC), 12, datetime(2028, 2, 28, 2, 0, tzinfo=UTC)),
    (datetime(2026, 8, 31, 2, 0, tzinfo=UTC), 6, datetime(2027, 2, 28, 2, 0, tzinfo=UTC)),
])
def test_an_assessment_expires_after_its_months(assessed, months, until):
    assert suitability.expires(assessed, months) == until
    assert suitability.valid(until, until.replace(hour=1)) and not suitability.valid(until, until)
    assert not suitability.valid(None, assessed)


def test_a_first_assessment_online_only_where_the_bank_allows_it():
    assert suitability.online_allowed("online", assessed_before=False)
    assert not suitability.online_allowed("branch", assessed_before=False)
    assert suitability.online_allowed("branch", assessed_before=True)  # re-assessment


@pytest.mark.parametrize(("level", "level_valid", "accepted", "risk", "readiness"), [
    (None, False, True, "R1", "assess"),
    ("C5", False, True, "R1", "expired"),
    ("C2", True, True, "R3", "above_level"),
    ("C2", True, False, "R3", "above_level"),  # no signature makes a product suitable
    ("C3", True, False, "R3", "agreement"),
    ("C3", True, True, "R3", "ready"),
])
def test_what_stands_before_a_purchase_first_thing_first(level, level_valid, accepted, risk, readiness):
    assert suitability.readiness(level, level_valid, accepted, risk) == readiness

"""The rules of an auditor's query (no AWS): one question at a time, every bad parameter
reported at once."""
from __future__ import annotations

import pytest

from functions.audit import service
from functions.common.errors import ValidationFailed


def fields(query: dict) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as failed:
        service.record_query(query)
    return [(f.field, f.code) for f in failed.value.fields]


def test_one_question_at_a_time():
    assert service.record_query({"application_id": "LA1"}) == service.RecordQuery("application", "LA1", 50, None)
    assert service.record_query({"staff": " reviewer-1 ", "limit": "10"}).key == "reviewer-1"
    assert service.record_query({"day": "2026-03-16"}).by == "day"
    assert fields({}) == [("query", "query_required")]
    assert fields({"application_id": "LA1", "day": "2026-03-16"}) == [("query", "query_ambiguous")]


def test_every_bad_parameter_is_reported_at_once():
    assert fields({"day": "16/03/2026", "limit": "0", "cursor": "%%"}) == [
        ("day", "date_invalid"), ("limit", "limit_invalid"), ("cursor", "cursor_invalid")]

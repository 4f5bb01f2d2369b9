"""The catalogue's rules: every field of an import row checked, the listing and its
filters, benchmark and net value formats."""
from __future__ import annotations

from datetime import date

import pytest

from functions.common.errors import ValidationFailed
from functions.products import service
from tests.products.conftest import row


def refused(**fields) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        service.read_product(row(**fields))
    return {e.field: e.code for e in caught.value.fields}


def test_a_valid_row_becomes_a_product_with_its_three_documents():
    product = service.read_product(row())
    assert (product.code, product.risk, product.term_days, product.min_purchase_fen) == ("WM0091", "R2", 91, 100_000)
    assert [d.kind for d in product.documents] == ["prospectus", "risk_disclosure", "sales_agreement"]
    assert {d.version for d in product.documents} == {"v1"}
    assert len(product.documents[0].sha256) == 64


def test_csv_text_reads_like_json_numbers():
    csv_row = {k: str(v) for k, v in row().items()}
    assert service.read_product(csv_row) == service.read_product(row())


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"code": "wm-1"}, "code", "invalid_code"),
    ({"code": None}, "code", "invalid_code"),
    ({"name": "  "}, "name", "required"),
    ({"name": "长" * 41}, "name", "too_long"),
    ({"issuer": ""}, "issuer", "required"),
    ({"kind": "stocks"}, "kind", "invalid_choice"),
    ({"risk": "R6"}, "risk", "invalid_choice"),
    ({"risk": 3}, "risk", "invalid_choice"),
    ({"benchmark_low_bp": -1}, "benchmark_low_bp", "out_of_range"),
    ({"benchmark_high_bp": 2001}, "benchmark_high_bp", "out_of_range"),
    ({"benchmark_low_bp": 300, "benchmark_high_bp": 290}, "benchmark_high_bp", "range_inverted"),
    ({"benchmark_low_bp": 2.5}, "benchmark_low_bp", "not_a_whole_number"),
    ({"term_days": "九十一"}, "term_days", "not_a_whole_number"),
    ({"term_days": 0}, "term_days", "term_required"),
    ({"kind": "open", "term_days": 30}, "term_days", "term_not_allowed"),
    ({"min_purchase_fen": 0}, "min_purchase_fen", "out_of_range"),
    ({"min_purchase_fen": True}, "min_purchase_fen", "not_a_whole_number"),
    ({"increment_fen": "1.5"}, "increment_fen", "not_a_whole_number"),
    ({"quota_fen": 50_000}, "quota_fen", "below_minimum"),
    ({"quota_fen": 10**13}, "quota_fen", "out_of_range"),
    ({"window_start": "2026/11/01"}, "window_start", "invalid_date"),
    ({"window_end": "2026-02-30"}, "window_end", "invalid_date"),
    ({"window_end": "2026-10-31"}, "window_end", "window_inverted"),
    ({"status": "sold"}, "status", "invalid_choice"),
    ({"documents_version": "v 1"}, "documents_version", "invalid_version"),
    ({"risk_disclosure": ""}, "risk_disclosure", "required"),
    ({"sales_agreement": "x" * 50_001}, "sales_agreement", "too_long"),
])
def test_each_field_is_refused_on_its_own(fields, field, code):
    assert refused(**fields) == {field: code}


def test_every_bad_field_is_reported_at_once():
    assert set(refused(code="", risk="", status="", prospectus="")) == {"code", "risk", "status", "prospectus"}


def test_a_catalogue_rejects_bad_rows_and_second_codes_by_row_number():
    valid, rejected = service.read_catalogue([row(), row(risk="R9"), row(), "not a row", row(code="WM0182")])
    assert [p.code for p in valid] == ["WM0091", "WM0182"]
    assert [(n, code, [e.code for e in errors]) for n, code, errors in rejected] == [
        (2, "WM0091", ["invalid_choice"]), (3, "WM0091", ["duplicate"]), (4, "", ["not_an_object"])]


def test_listing_and_filters():
    day = date(2026, 11, 30)
    products = [service.read_product(r) for r in (
        row(code="R3LONG", risk="R3", term_days=400),
        row(code="R1CASH", risk="R1", kind="cash", term_days=0),
        row(code="R2SHORT"),
        row(code="SOON", status="upcoming", window_start="2026-12-10"),
        row(code="GONE", window_start="2026-01-01", window_end="2026-11-29"),
        row(code="PAUSED", status="paused"),
    )]
    assert [p.code for p in service.select(products, day)] == ["R1CASH", "R2SHORT", "SOON", "R3LONG"]
    assert [p.code for p in service.select(products, day, risk="R3")] == ["R3LONG"]
    assert [p.code for p in service.select(products, day, term="none")] == ["R1CASH"]
    assert [p.code for p in service.select(products, day, term="short")] == ["R2SHORT", "SOON"]
    assert [p.code for p in service.select(products, day, term="long")] == ["R3LONG"]
    assert [p.code for p in service.select(products, day, risk="R2", term="medium")] == []
    sale = {p.code: service.on_sale(p, day) for p in products}
    assert sale == {"R3LONG": True, "R1CASH": True, "R2SHORT": True, "SOON": False, "GONE": False, "PAUSED": False}


def test_unknown_filters_are_refused_by_field():
    with pytest.raises(ValidationFailed) as caught:
        service.filters({"risk": "R0", "term": "forever"})
    assert {e.field for e in caught.value.fields} == {"risk", "term"}
    assert service.filters({"risk": "R4", "term": ""}) == ("R4", None)


def test_benchmark_is_a_range_and_net_values_have_four_places():
    assert service.show_benchmark(service.read_product(row())) == "2.30%–2.90%"
    assert service.show_benchmark(service.read_product(row(benchmark_low_bp=250, benchmark_high_bp=250))) == "2.50%"
    assert service.parse_nav("1.0234") == 10_234 and service.parse_nav("1.5") == 15_000
    assert service.parse_nav(2) == 20_000
    for bad in ("1.02345", "-1", "0", "abc", "1e3", "10000.0", None, True):
        assert service.parse_nav(bad) is None, bad
    assert service.show_nav(10_234) == "1.0234"


def test_a_net_value_row_is_checked_field_by_field():
    assert service.read_net_value({"code": "WM0091", "date": "2026-11-30", "nav": "1.0012"}).nav_e4 == 10_012
    with pytest.raises(ValidationFailed) as caught:
        service.read_net_value({"code": "x", "date": "30/11/2026", "nav": "1.00001"})
    assert {e.field for e in caught.value.fields} == {"code", "date", "nav"}

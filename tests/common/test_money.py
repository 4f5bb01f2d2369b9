"""money.yuan: integer fen as customers read an amount; money.fen: yuan as typed, exactly."""
from __future__ import annotations

import pytest

from functions.common.money import fen, yuan


@pytest.mark.parametrize(("fen", "shown"), [
    (0, "¥0.00"), (5, "¥0.05"), (123456, "¥1,234.56"), (100_000_000, "¥1,000,000.00"), (-12345, "-¥123.45"),
])
def test_fen_are_shown_as_yuan(fen, shown):
    assert yuan(fen) == shown


@pytest.mark.parametrize(("typed", "expected"), [
    ("1000", 100_000), ("1,000.5", 100_050), ("¥0.01", 1), (" 12345.67 ", 1_234_567), ("0", 0),
    ("0.1", 10), ("", None), ("abc", None), ("-1", None), ("+1", None), ("1.001", None), ("NaN", None),
    ("Infinity", None), ("１２３．４５", 12_345), ("￥１，０００", 100_000), ("1e3", None), ("1E+2", None),
    ("1_000", None), ("0x10", None), ("12.", None), (".5", None), ("١٢", None), ("1 000", None),
    ("9" * 13, 999_999_999_999_900), ("9" * 14, None), ("9" * 5000, None),
])
def test_yuan_as_typed_become_fen_exactly(typed, expected):
    assert fen(typed) == expected

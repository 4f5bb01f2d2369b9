"""money.yuan: integer fen as customers read an amount."""
from __future__ import annotations

import pytest

from functions.common.money import yuan


@pytest.mark.parametrize(("fen", "shown"), [
    (0, "¥0.00"), (5, "¥0.05"), (123456, "¥1,234.56"), (100_000_000, "¥1,000,000.00"), (-12345, "-¥123.45"),
])
def test_fen_are_shown_as_yuan(fen, shown):
    assert yuan(fen) == shown

"""One way to show each thing, everywhere a customer reads it: a time with its weekday
(clock.show_time, show_date, show_clock; show_template_time where WeChat wants no weekday),
money as ¥1,234.00 (money.yuan), names, phones, ID numbers and cards masked (pii.mask_*).
The scan fails when a page, a reply or a template message formats one of them by hand."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from functions.common import clock, pii
from functions.common.money import yuan

ROOT = Path(__file__).resolve().parents[2]
HELPERS = {"functions/common/clock.py", "functions/common/money.py", "functions/common/pii.py",
           "functions/common/log.py"}  # log.py redacts what reaches the logs; nobody reads it as a page
# what formatting by hand looks like
HAND_MADE = {
    "a date or time formatted by hand":
        re.compile(r"strftime|%Y|%m-%d|%H:%M|\d月\{|\}月\{|月\{[^}]*\}日|toLocale(Date|Time)"),
    "money formatted by hand": re.compile(r"¥|￥|\}元|\+ ?\"元\"|toLocaleString"),
    "a mask made by hand": re.compile(r"\*\*\*\*|\"\*\"|'\*'|尾号|····|join\(\"\*\"\)"),
}


def sources() -> dict[str, str]:
    files = [*(ROOT / "functions").rglob("*.py"), *(ROOT / "functions").rglob("*.html")]
    return {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in files}


def hand_made(text: str) -> list[str]:
    return [f"{what}: {line.strip()[:100]}" for line in text.splitlines() for what, pattern in HAND_MADE.items()
            if pattern.search(line)]


def test_pages_replies_and_templates_use_the_one_helper_of_each_kind():
    found = {path: hand_made(text) for path, text in sources().items() if path not in HELPERS}
    assert {path: lines for path, lines in found.items() if lines} == {}


@pytest.mark.parametrize("line", [
    'return local(dt).strftime("%Y-%m-%d %H:%M")', '"label": f"{d.month}月{d.day}日"', 'f"¥{fen / 100:,.2f}"',
    'name[:1] + "*"', 'f"尾号{last4}"', 'value.slice(0, 3) + "****" + value.slice(-4)',
])
def test_the_scan_sees_formatting_by_hand(line):
    assert hand_made(line)


def test_the_helpers(frozen_clock):
    at = datetime(2026, 12, 8, 6, 0, tzinfo=UTC)  # 14:00 in Ningbo, a Tuesday
    frozen_clock(at)
    assert clock.show_time(at) == "12月8日 周二 14:00"
    assert clock.show_date(date(2026, 12, 13)) == "12月13日 周日"
    assert clock.show_date(date(2027, 11, 30)) == "2027年11月30日 周二"  # another year says which
    assert clock.show_clock(at) == "14:00"
    assert clock.show_template_time(at) == "2026年12月8日 14:00"
    assert yuan(123400) == "¥1,234.00" and yuan(5) == "¥0.05"
    assert [pii.mask_name(n) for n in ("王五", "王小明", "欧阳明月")] == ["王**", "王**", "欧**"]
    assert pii.mask_phone("13812345678") == "138****5678"
    assert pii.mask_card("6222021234565678") == "····5678"

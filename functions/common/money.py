"""Money as the bank shows it: amounts are integer fen everywhere (stored, computed, sent in
events); customers read them as yuan."""
from __future__ import annotations

import re

_YUAN = re.compile(r"\d{1,13}(?:\.\d{1,2})?", re.ASCII)  # up to ¥9,999,999,999,999.99


def yuan(fen: int) -> str:
    """Integer fen as yuan, `¥1,234.56`."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def fen(text: str) -> int | None:
    """Yuan as typed (`12345.6`, `1,000`, `¥100.00`, or in a Chinese keyboard's full-width
    digits) → integer fen, exactly (no floats); None for anything but digits with at most two
    decimals and at most 13 before them: no sign, exponent (`1e3`) or digit grouping other
    than commas, as the loan form's own check on the phone refuses them."""
    import unicodedata

    cleaned = unicodedata.normalize("NFKC", str(text or "")).strip().lstrip("¥").replace(",", "").strip()
    if not _YUAN.fullmatch(cleaned):
        return None
    whole, _, cents = cleaned.partition(".")
    return int(whole) * 100 + int(cents.ljust(2, "0"))

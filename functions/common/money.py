"""Money as the bank shows it: amounts are integer fen everywhere (stored, computed, sent in
events); customers read them as yuan."""
from __future__ import annotations


def yuan(fen: int) -> str:
    """Integer fen as yuan, `¥1,234.56`."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def fen(text: str) -> int | None:
    """Yuan as typed (`12345.6`, `1,000`, `¥100.00`) → integer fen, exactly (no floats);
    None for anything else: not a number, more than two decimals, negative."""
    from decimal import Decimal, InvalidOperation

    cleaned = str(text or "").strip().lstrip("¥￥").replace(",", "").strip()
    if not cleaned or cleaned[0] in "+-":
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite() or value.as_tuple().exponent < -2:  # type: ignore[operator]
        return None
    return int(value * 100)

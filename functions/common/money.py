"""Money as the bank shows it: amounts are integer fen everywhere (stored, computed, sent in
events); customers read them as yuan."""
from __future__ import annotations


def yuan(fen: int) -> str:
    """Integer fen as yuan, `¥1,234.56`."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"

"""Time as the bank shows it: stored in UTC, shown in Asia/Shanghai. `now()` is the one clock
every function reads, so tests can freeze it."""
from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    SHANGHAI: ZoneInfo
_frozen: datetime | None = None


@lru_cache(maxsize=1)
def _shanghai() -> ZoneInfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Shanghai")


def __getattr__(name: str):
    """`SHANGHAI`, loaded on first use: zoneinfo and the tz database cost a cold start
    ~1 ms that handlers which show no time need not pay."""
    if name == "SHANGHAI":
        return _shanghai()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def epoch() -> int:
    return int(now().timestamp())


def freeze(at: datetime | None) -> None:
    """Freeze the clock at `at` (aware datetime), or unfreeze with None. For tests."""
    global _frozen
    _frozen = at.astimezone(UTC) if at is not None else None


def local(dt: datetime | None = None) -> datetime:
    """A UTC instant as Asia/Shanghai wall time."""
    return (dt or now()).astimezone(_shanghai())


def parse_utc(value: str) -> datetime:
    """Parse an ISO-8601 instant; naive values are taken as UTC."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def show_time(dt: datetime) -> str:
    """`2026-11-28 18:30` in Asia/Shanghai, as customers read it."""
    return local(dt).strftime("%Y-%m-%d %H:%M")


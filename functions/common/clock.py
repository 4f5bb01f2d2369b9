"""Time as the bank shows it: stored in UTC, shown in Asia/Shanghai. `now()` is the one clock
every function reads.

The local stack and its tests set it, so a journey runs at the hour it names whatever the
machine's clock says: `CLOCK_AT` (ISO-8601; without an offset, Asia/Shanghai wall time),
read when this module is first imported, starts the clock at that instant and lets it run
on from there, so waits and expiries behave; `set_at()` moves it while the stack runs. An
AWS stage refuses `CLOCK_AT` at start-up: only the real clock runs there. `freeze()` stops
the clock for a unit test."""
from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    SHANGHAI: ZoneInfo
SETTING = "CLOCK_AT"
_frozen: datetime | None = None
_offset: timedelta | None = None  # the set clock ahead of the real one (negative: behind)


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
    if _frozen is not None:
        return _frozen
    real = datetime.now(UTC)
    return real if _offset is None else real + _offset


def epoch() -> int:
    return int(now().timestamp())


def freeze(at: datetime | None) -> None:
    """Freeze the clock at `at` (aware datetime), or unfreeze with None. For tests."""
    global _frozen
    _frozen = at.astimezone(UTC) if at is not None else None


def set_at(at: datetime | None) -> None:
    """Run the clock on from `at` (aware), or on the real time again with None. Refused in
    an AWS stage."""
    if at is not None:
        _refuse_in_aws(os.environ.get("STAGE"))
    _run_from(at)


def is_set() -> bool:
    return _offset is not None


def start_from(environ: Mapping[str, str]) -> None:
    """Start the clock as `environ` says: at its `CLOCK_AT`, or on the real time without
    one. RuntimeError in an AWS stage (`STAGE` other than local or test)."""
    value = environ.get(SETTING)
    if value:
        _refuse_in_aws(environ.get("STAGE"))
    _run_from(parse_setting(value) if value else None)


def _run_from(at: datetime | None) -> None:
    global _offset
    _offset = None if at is None else at.astimezone(UTC) - datetime.now(UTC)


def parse_setting(value: str) -> datetime:
    """An instant from a CLOCK_AT value: ISO-8601; without an offset, Asia/Shanghai wall time.
    ValueError when it is not one."""
    dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return dt.replace(tzinfo=_shanghai()) if dt.tzinfo is None else dt


def _refuse_in_aws(stage: str | None) -> None:
    from functions.common import config

    stage = stage or config.DEFAULT_STAGE
    if stage not in config.LOCAL_STAGES:
        raise RuntimeError(f"{SETTING}: the clock cannot be set in stage {stage!r}; only the local stack and "
                           f"tests ({', '.join(config.LOCAL_STAGES)}) may set it. Remove {SETTING} from the "
                           "functions' environment.")


def local(dt: datetime | None = None) -> datetime:
    """A UTC instant as Asia/Shanghai wall time."""
    return (dt or now()).astimezone(_shanghai())


def parse_utc(value: str) -> datetime:
    """Parse an ISO-8601 instant; naive values are taken as UTC. ValueError for anything
    else, an instant that leaves datetime's range in UTC or in Asia/Shanghai (where every
    instant is shown) included: 0001-01-01T00:00+01:00, 9999-12-31T23:59Z."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    try:
        utc = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
        local(utc)
    except OverflowError:
        raise ValueError(f"instant out of range: {value!r}") from None
    return utc


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def quiet_until(at: datetime, start: time, end: time) -> datetime | None:
    """The end (UTC) of the nightly quiet period, from `start` to `end` Asia/Shanghai wall
    time across midnight, that `at` falls in; None in the daytime."""
    wall = local(at)
    if end <= wall.time() < start:
        return None
    day = wall.date() if wall.time() < end else wall.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=_shanghai()).astimezone(UTC)


WEEKDAY_NAMES = "一二三四五六日"


def show_date(day: date) -> str:
    """A calendar day as customers read it, always with its weekday: `12月8日 周二`; with its
    year when that is not this year's (`2027年11月30日 周二`: an expiry, a maturity)."""
    year = f"{day.year}年" if day.year != local().year else ""
    return f"{year}{day.month}月{day.day}日 周{WEEKDAY_NAMES[day.weekday()]}"


def show_clock(dt: datetime) -> str:
    """The time of day alone, `14:00` in Asia/Shanghai, where the day is shown beside it."""
    return local(dt).strftime("%H:%M")


def show_time(dt: datetime) -> str:
    """An instant as customers read it, in Asia/Shanghai: `12月8日 周二 14:00`."""
    wall = local(dt)
    return f"{show_date(wall.date())} {show_clock(wall)}"


def show_template_date(day: date) -> str:
    """A calendar day in a template message's time keyword, which WeChat accepts only as a
    date and a 24-hour time (no weekday): `2026年12月8日`."""
    return f"{day.year}年{day.month}月{day.day}日"


def show_template_time(dt: datetime) -> str:
    """An instant in a template message's time keyword: `2026年12月8日 14:00`."""
    wall = local(dt)
    return f"{show_template_date(wall.date())} {show_clock(wall)}"


if os.environ.get(SETTING):  # start-up: a function or stack started with CLOCK_AT
    start_from(os.environ)

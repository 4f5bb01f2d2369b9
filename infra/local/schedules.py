"""Schedules from serverless.yml's `schedule` events, fired at the wall time they name.

Expressions are EventBridge's: `rate(5 minutes)` and the six-field `cron(min hour
day-of-month month day-of-week year)` with `* , - / ?`, `L` and `W` in day-of-month, and
`L` and `#` in day-of-week (1-7 = SUN-SAT). A cron is read in the schedule's `timezone`
(EventBridge Scheduler's; UTC for plain EventBridge rules), so `cron(0 10 * * ? *)` in
Asia/Shanghai fires at 02:00 UTC all year round.

Time is the functions' clock (`functions.common.clock`), so on a stack started with
`CLOCK_AT`, or whose clock was moved, the 18:00 reminders fire when that clock says 18:00.
"""
from __future__ import annotations

import calendar
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from functions.common import clock
from infra.local.slsconfig import ServerlessConfig

logger = logging.getLogger("infra.local")

MONTHS = {name: i for i, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}
DAYS = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")


class InvalidExpression(ValueError):
    pass


def _number(token: str, names: dict[str, int], low: int, high: int) -> int:
    value = names.get(token.upper()) if not token.isdigit() else int(token)
    if value is None or not low <= value <= high:
        raise InvalidExpression(f"{token!r} is not in {low}-{high}")
    return value


def _values(spec: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    """The values a plain field (`*`, `a`, `a-b`, `a/n`, `a-b/n`, lists) allows."""
    names = names or {}
    out: set[int] = set()
    for part in spec.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise InvalidExpression(f"bad step in {part!r}")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            start, end = _number(a, names, low, high), _number(b, names, low, high)
        else:
            start = _number(base, names, low, high)
            end = high if step_text else start
        if start <= end:
            out.update(range(start, end + 1, step))
        else:  # a range that wraps, like FRI-MON
            span = list(range(start, high + 1)) + list(range(low, end + 1))
            out.update(span[::step])
    return out


def aws_weekday(day: date) -> int:
    """EventBridge's day-of-week number: SUN=1 ... SAT=7."""
    return (day.weekday() + 1) % 7 + 1


def _nearest_weekday(year: int, month: int, day: int) -> int:
    last = calendar.monthrange(year, month)[1]
    day = min(day, last)
    weekday = date(year, month, day).weekday()
    if weekday == 5:  # Saturday → Friday, unless that leaves the month
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday → Monday, unless that leaves the month
        return day + 1 if day < last else day - 2
    return day


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day_of_month: str
    day_of_week: str

    @classmethod
    def parse(cls, expression: str) -> Cron:
        found = _CRON.match(expression.strip())
        if not found:
            raise InvalidExpression(f"not a cron expression: {expression!r}")
        fields = found.group(1).split()
        if len(fields) != 6:
            raise InvalidExpression(f"cron needs 6 fields, got {len(fields)}: {expression!r}")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise InvalidExpression("exactly one of day-of-month and day-of-week must be '?'")
        cron = cls(
            expression=expression,
            minutes=frozenset(_values(minute, 0, 59)),
            hours=frozenset(_values(hour, 0, 23)),
            months=frozenset(_values(month, 1, 12, MONTHS)),
            years=frozenset(_values(year, 1970, 2199)),
            day_of_month=dom.upper(),
            day_of_week=dow.upper(),
        )
        cron.day_matches(date(2026, 1, 1))  # validates the day fields
        return cron

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months or day.year not in self.years:
            return False
        if self.day_of_month != "?":
            return any(self._dom_part(part, day) for part in self.day_of_month.split(","))
        return any(self._dow_part(part, day) for part in self.day_of_week.split(","))

    @staticmethod
    def _dom_part(part: str, day: date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        if part == "L":
            return day.day == last
        if part == "LW":
            return day.day == _nearest_weekday(day.year, day.month, last)
        if part.endswith("W"):
            return day.day == _nearest_weekday(day.year, day.month, _number(part[:-1], {}, 1, 31))
        return day.day in _values(part, 1, 31)

    @staticmethod
    def _dow_part(part: str, day: date) -> bool:
        weekday = aws_weekday(day)
        if part == "L":
            return weekday == 7
        if part.endswith("L"):  # the last such weekday of the month
            last = calendar.monthrange(day.year, day.month)[1]
            return weekday == _number(part[:-1], DAYS, 1, 7) and day.day + 7 > last
        if "#" in part:  # the n-th such weekday of the month
            which, nth = part.split("#", 1)
            if not nth.isdigit() or not 1 <= int(nth) <= 5:
                raise InvalidExpression(f"bad day-of-week {part!r}")
            return weekday == _number(which, DAYS, 1, 7) and (day.day - 1) // 7 + 1 == int(nth)
        return weekday in _values(part, 1, 7, DAYS)

    def matches(self, wall: datetime) -> bool:
        """Whether the cron fires at this wall-clock minute."""
        return wall.minute in self.minutes and wall.hour in self.hours and self.day_matches(wall.date())

    def next_after(self, wall: datetime, horizon_days: int = 366 * 5) -> datetime | None:
        """The first wall-clock minute after `wall` (naive) at which the cron fires."""
        start = wall.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        for _ in range(horizon_days):
            if self.day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = datetime(day.year, day.month, day.day, hour, minute)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        return None


@dataclass(frozen=True)
class Rate:
    expression: str
    minutes: int

    @classmethod
    def parse(cls, expression: str) -> Rate:
        found = _RATE.match(expression.strip())
        if not found:
            raise InvalidExpression(f"not a rate expression: {expression!r}")
        value, unit = int(found.group(1)), found.group(2)
        if value < 1:
            raise InvalidExpression("rate must be positive")
        return cls(expression, value * {"m": 1, "h": 60, "d": 1440}[unit[0]])


def parse_expression(expression: str) -> Cron | Rate:
    return Cron.parse(expression) if expression.strip().startswith("cron(") else Rate.parse(expression)


@dataclass
class Schedule:
    """One schedule of one function. Cron schedules fire on their wall-clock minutes;
    rate schedules every `minutes` from `anchor` (when the stack started or its clock moved)."""

    name: str
    function: str
    expressions: list[Cron | Rate]
    timezone: str = "UTC"
    input: Any = None
    enabled: bool = True
    fired: int = 0
    anchor: datetime = field(default_factory=lambda: _minute(clock.now()))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def due(self, minute: datetime) -> bool:
        """Whether it fires at this minute (an aware instant)."""
        wall = minute.astimezone(self.tz).replace(tzinfo=None)
        for expression in self.expressions:
            if isinstance(expression, Cron) and expression.matches(wall):
                return True
            if isinstance(expression, Rate):
                elapsed = int((minute - self.anchor).total_seconds() // 60)
                if elapsed > 0 and elapsed % expression.minutes == 0:
                    return True
        return False

    def next_fire(self, after: datetime) -> datetime | None:
        """The next instant (aware, UTC) after `after` when it fires."""
        found = []
        for expression in self.expressions:
            if isinstance(expression, Cron):
                wall = expression.next_after(after.astimezone(self.tz).replace(tzinfo=None))
                if wall:
                    found.append(wall.replace(tzinfo=self.tz).astimezone(UTC))
            else:
                elapsed = max(0, int((after - self.anchor).total_seconds() // 60))
                steps = elapsed // expression.minutes + 1
                found.append(self.anchor + timedelta(minutes=steps * expression.minutes))
        return min(found) if found else None

    def event(self, region: str = "local", at: datetime | None = None) -> Any:
        """What the function receives: the configured input, or EventBridge's scheduled event."""
        if self.input is not None:
            if isinstance(self.input, str):
                try:
                    return json.loads(self.input)
                except ValueError:
                    return self.input
            return self.input
        at = at or clock.now()
        return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                "account": "000000000000", "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
                "resources": [f"arn:aws:scheduler:{region}:000000000000:schedule/default/{self.name}"],
                "detail": {}}

    def describe(self, now: datetime | None = None) -> dict[str, Any]:
        upcoming = self.next_fire(now or clock.now()) if self.enabled else None
        return {"name": self.name, "function": self.function, "expressions": [e.expression for e in self.expressions],
                "timezone": self.timezone, "input": self.input, "enabled": self.enabled, "fired": self.fired,
                "next": upcoming.isoformat() if upcoming else None,
                "next_local": upcoming.astimezone(self.tz).strftime("%Y-%m-%d %H:%M %Z") if upcoming else None}


def schedules_from(config: ServerlessConfig) -> list[Schedule]:
    out = []
    for key, function in config.functions.items():
        index = 0
        for event in function.events:
            spec = event.get("schedule") if isinstance(event, dict) else None
            if spec is None:
                continue
            index += 1
            spec = {"rate": spec} if not isinstance(spec, dict) else spec
            rates = spec["rate"] if isinstance(spec["rate"], list) else [spec["rate"]]
            out.append(Schedule(
                name=spec.get("name") or f"{key}-schedule-{index}",
                function=key,
                expressions=[parse_expression(r) for r in rates],
                timezone=spec.get("timezone") or "UTC",
                input=spec.get("input"),
                enabled=spec.get("enabled", True) is not False,
            ))
    return out


class Scheduler:
    """A background thread that looks at every minute of the clock once and fires what is
    due. When the clock is moved (`moved()`), it goes on from the minute the clock landed in,
    that minute included, and skips the time jumped over."""

    def __init__(self, schedules: list[Schedule], fire: Callable[[Schedule], Any]):
        self.schedules = schedules
        self._fire = fire
        self._stop = threading.Event()
        self._moved = threading.Event()
        self._thread: threading.Thread | None = None

    def get(self, name: str) -> Schedule:
        for schedule in self.schedules:
            if schedule.name == name:
                return schedule
        owned = [s for s in self.schedules if s.function == name]
        if len(owned) == 1:
            return owned[0]
        raise KeyError(name)

    def start(self) -> None:
        self._stop.clear()
        self._anchor_rates()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._moved.set()
        if self._thread:
            self._thread.join(timeout=10)

    def due(self, minute: datetime) -> list[Schedule]:
        return [s for s in self.schedules if s.enabled and s.due(minute)]

    def moved(self) -> None:
        """The clock was moved: rate schedules count from the new minute, crons fire from it."""
        self._anchor_rates()
        self._moved.set()

    def _anchor_rates(self) -> None:
        minute = _minute(clock.now())
        for schedule in self.schedules:
            schedule.anchor = minute

    def _run(self) -> None:
        last = _minute(clock.now())
        while not self._stop.is_set():
            wait = (last + timedelta(minutes=1) - clock.now()).total_seconds() + 0.05
            if self._moved.wait(max(0.05, wait)):
                self._moved.clear()
                last = _minute(clock.now()) - timedelta(minutes=1)
                continue
            current = _minute(clock.now())
            minute = max(last + timedelta(minutes=1), current - timedelta(minutes=60))  # catch up, boundedly
            while minute <= current:
                for schedule in self.due(minute):
                    threading.Thread(target=self._fire_logged, args=(schedule,), daemon=True).start()
                minute += timedelta(minutes=1)
            last = max(last, current)

    def _fire_logged(self, schedule: Schedule) -> None:
        try:
            self._fire(schedule)
        except Exception as error:  # noqa: BLE001 - a failed run is logged, the next one still fires
            logger.error("schedule %s failed: %s", schedule.name, error)


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)

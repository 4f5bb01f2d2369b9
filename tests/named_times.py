"""The times the suite runs the journeys that depend on the hour or the day at: a weekday at
09:00, 15:30, 17:55 and 23:30, a Saturday afternoon and a Sunday morning, in a week without
holidays at the demo branches. Asia/Shanghai wall time, as CLOCK_AT takes it."""
from __future__ import annotations

import pytest

WEEKDAY_MORNING = "2026-11-16T10:00"  # a Monday
NAMED_TIMES = [
    pytest.param("2026-11-16T09:00", id="mon-0900"),
    pytest.param("2026-11-16T15:30", id="mon-1530"),
    pytest.param("2026-11-16T17:55", id="mon-1755"),
    pytest.param("2026-11-16T23:30", id="mon-2330"),
    pytest.param("2026-11-21T15:30", id="sat-1530"),
    pytest.param("2026-11-22T10:00", id="sun-1000"),
]

# The first slot the demo branch HS01 (天一广场支行: 08:30-17:00 on weekdays, 09:00-16:00 at
# weekends, a lunch break) offers at each named time: an hour ahead at least, so at 15:30
# today's 16:30 has just gone, and nothing after the last slot of the day.
FIRST_SLOT = {
    "2026-11-16T09:00": "11月16日 周一 10:30",
    "2026-11-16T15:30": "11月17日 周二 08:30",
    "2026-11-16T17:55": "11月17日 周二 08:30",
    "2026-11-16T23:30": "11月17日 周二 08:30",
    "2026-11-21T15:30": "11月22日 周日 09:00",
    "2026-11-22T10:00": "11月22日 周日 11:30",
}
# notify holds reminders and notices in its quiet hours (21:00-08:00), until their end; card
# alerts and the confirmations of what the customer just did go at once
QUIET_UNTIL = {"2026-11-16T23:30": "2026-11-17T08:00"}

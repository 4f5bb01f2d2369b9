"""Opening hours in Asia/Shanghai wall time, whatever zone the server runs in: is a branch
open now, when does it open later today, or is it closed for the day."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from functions.branch_lookup.schema import WEEKDAYS, minutes
from functions.common import clock


@dataclass(frozen=True)
class Status:
    state: str  # "open" | "later" | "closed"
    time: str = ""  # open: closing time; later: opening time
    note: str = ""  # the dated exception's note, if today has one
    all_day: bool = False

    @property
    def open(self) -> bool:
        return self.state == "open"

    def label(self) -> str:
        """Short Chinese text for replies and pages."""
        if self.state == "open":
            text = "24小时营业" if self.all_day else f"营业中，{self.time}结束"
        elif self.state == "later":
            text = f"今日{self.time}开始营业"
        else:
            text = "今日已停止营业"
        return f"{text}（{self.note}）" if self.note else text


def hours_on(branch: dict[str, Any], day: date) -> tuple[list[list[str]], str]:
    """The intervals of a local date (a dated exception wins over the weekday) and its note."""
    for exception in branch.get("exceptions") or []:
        if exception["date"] == day.isoformat():
            return exception["hours"], exception.get("note", "")
    return (branch.get("hours") or {}).get(WEEKDAYS[day.weekday()], []), ""


def status(branch: dict[str, Any], at: datetime | None = None) -> Status:
    local = clock.local(at)
    intervals, note = hours_on(branch, local.date())
    now = local.hour * 60 + local.minute + local.second / 60
    for start, end in intervals:
        if minutes(start) <= now < minutes(end):
            return Status("open", end, note, all_day=(start, end) == ("00:00", "24:00"))
    for start, _end in intervals:
        if now < minutes(start):
            return Status("later", start, note)
    return Status("closed", "", note)


def week(branch: dict[str, Any], at: datetime | None = None) -> list[dict[str, Any]]:
    """The coming seven days from today (local), dated exceptions applied, for the page."""
    from datetime import timedelta

    from functions.branch_lookup.schema import WEEKDAY_NAMES

    today = clock.local(at).date()
    rows = []
    for offset in range(7):
        day = today + timedelta(days=offset)
        intervals, note = hours_on(branch, day)
        rows.append({
            "date": day,
            "weekday": WEEKDAY_NAMES[WEEKDAYS[day.weekday()]],
            "text": "、".join(f"{s}-{e}" for s, e in intervals) or "休息",
            "note": note,
            "today": offset == 0,
        })
    return rows

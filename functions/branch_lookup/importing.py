"""Branches coming in: the validation every write goes through (demo data, the CSV import),
and the operator's spreadsheet form (compact hours, Chinese or code names, any of three
datums) parsed and validated row by row. Errors are collected field by field, never raised
one at a time, so an operator sees everything wrong with a row at once. Nothing here
writes; the import command writes only once every row has been checked, and everything
stored is GCJ-02 (datums go through prcoords)."""
from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from functions.branch_lookup.service import ID_RE, KINDS, SERVICES, WEEKDAYS, minutes
from functions.common.errors import FieldError

DATUMS = ("gcj02", "wgs84", "bd09")
PHONE_RE = re.compile(r"^[0-9][0-9-]{4,19}$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
MAX_TEXT = {"name": 40, "address": 100, "district": 20, "city": 20}

COLUMNS = ("id", "name", "kind", "address", "district", "city", "phone", "lat", "lng", "datum", "services",
           "bookable", "hours", "exceptions")
REQUIRED_COLUMNS = ("id", "name", "kind", "address", "district", "lat", "lng")
_DAY_RANGE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)(?:-(mon|tue|wed|thu|fri|sat|sun))?$")
_YES = {"1", "true", "yes", "y", "是", "可", "可预约"}
_NO = {"", "0", "false", "no", "n", "否", "不可"}
_LIST_SPLIT = re.compile(r"[;；,，|/\s]+")


# ----- a branch, checked -------------------------------------------------------------------

def _check_intervals(value: Any, field: str, errors: list[FieldError]) -> list[list[str]]:
    """Intervals [["09:00", "12:00"], ...]: well-formed, increasing, not overlapping."""
    if not isinstance(value, (list, tuple)):
        errors.append(FieldError(field, "invalid", "营业时间格式错误"))
        return []
    out: list[list[str]] = []
    last_end = -1
    for interval in value:
        if (not isinstance(interval, (list, tuple)) or len(interval) != 2
                or not all(isinstance(t, str) and TIME_RE.match(t) for t in interval)):
            errors.append(FieldError(field, "invalid_time", "时间应为 HH:MM（00:00-24:00）"))
            return []
        start, end = minutes(interval[0]), minutes(interval[1])
        if start >= end:
            errors.append(FieldError(field, "bad_interval", f"{interval[0]}-{interval[1]}：结束时间须晚于开始时间"))
            return []
        if start < last_end:
            errors.append(FieldError(field, "overlap", "营业时段须按时间先后排列且不重叠"))
            return []
        last_end = end
        out.append([interval[0], interval[1]])
    return out


def _text(data: dict, field: str, errors: list[FieldError], required: bool = True) -> str:
    value = data.get(field)
    value = "" if value is None else str(value).strip()
    if required and not value:
        errors.append(FieldError(field, "required", "必填"))
    elif len(value) > MAX_TEXT.get(field, 100):
        errors.append(FieldError(field, "too_long", f"不能超过{MAX_TEXT.get(field, 100)}个字"))
    return value


def _number(data: dict, field: str, low: float, high: float, errors: list[FieldError]) -> float:
    value = data.get(field)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        errors.append(FieldError(field, "invalid_number", "应为数字"))
        return 0.0
    if not low <= number <= high:
        errors.append(FieldError(field, "out_of_range", f"应在 {low} 到 {high} 之间"))
    return number


def validate(data: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """A branch in the published schema (common/branches.py), and what is wrong with it."""
    errors: list[FieldError] = []
    branch_id = str(data.get("id") or "").strip()
    if not ID_RE.match(branch_id):
        errors.append(FieldError("id", "invalid_id", "编号只能包含字母、数字、- 和 _（最多32位）"))
    kind = data.get("kind")
    if kind not in KINDS:
        errors.append(FieldError("kind", "unknown_kind", f"网点类型应为 {', '.join(KINDS)} 之一"))
    phone = str(data.get("phone") or "").strip()
    if phone and not PHONE_RE.match(phone):
        errors.append(FieldError("phone", "invalid_phone", "电话号码格式错误"))
    services = data.get("services") or []
    if not isinstance(services, (list, tuple)) or any(s not in SERVICES for s in services):
        errors.append(FieldError("services", "unknown_service", f"服务应为 {', '.join(SERVICES)} 中的若干项"))
        services = []
    bookable = data.get("bookable", False)
    if not isinstance(bookable, bool):
        errors.append(FieldError("bookable", "invalid_bool", "应为是或否"))
    hours_in = data.get("hours") or {}
    hours: dict[str, list[list[str]]] = {}
    if not isinstance(hours_in, dict) or set(hours_in) - set(WEEKDAYS):
        errors.append(FieldError("hours", "invalid", "营业时间应按 mon..sun 给出"))
    else:
        for day in WEEKDAYS:
            hours[day] = _check_intervals(hours_in.get(day, []), "hours", errors)
    exceptions: list[dict[str, Any]] = []
    for item in data.get("exceptions") or []:
        if not isinstance(item, dict):
            errors.append(FieldError("exceptions", "invalid", "特殊营业日格式错误"))
            continue
        try:
            when = date.fromisoformat(str(item.get("date")))
        except ValueError:
            errors.append(FieldError("exceptions", "invalid_date", f"日期格式错误：{item.get('date')}"))
            continue
        note = str(item.get("note") or "").strip()[:20]
        exceptions.append({"date": when.isoformat(), "hours": _check_intervals(item.get("hours", []), "exceptions",
                                                                               errors), "note": note})
    if len({e["date"] for e in exceptions}) != len(exceptions):
        errors.append(FieldError("exceptions", "duplicate_date", "同一日期只能有一条特殊安排"))
    branch = {
        "id": branch_id,
        "name": _text(data, "name", errors),
        "kind": kind,
        "address": _text(data, "address", errors),
        "district": _text(data, "district", errors),
        "city": _text(data, "city", errors, required=False) or "宁波市",
        "phone": phone,
        "lat": round(_number(data, "lat", -90, 90, errors), 6),
        "lng": round(_number(data, "lng", -180, 180, errors), 6),
        "services": [s for s in SERVICES if s in services],
        "bookable": bookable is True,
        "hours": hours,
        "exceptions": sorted(exceptions, key=lambda e: str(e["date"])),
    }
    return branch, errors


# ----- datums ------------------------------------------------------------------------------

def to_gcj02(lat: float, lng: float, datum: str) -> tuple[float, float]:
    """Convert a point from `datum` (gcj02, wgs84 or bd09) to GCJ-02 (precise inverses for
    the datums GCJ-02 is derived from)."""
    import prcoords

    if datum == "gcj02":
        return lat, lng
    if datum == "wgs84":
        out = prcoords.wgs_gcj((lat, lng), check_china=False)
    elif datum == "bd09":
        out = prcoords.bd_gcj_bored((lat, lng), check_china=False)
    else:
        raise ValueError(f"unknown datum {datum!r}")
    return out.lat, out.lon


def from_gcj02(lat: float, lng: float, datum: str) -> tuple[float, float]:
    """Convert a GCJ-02 point to `datum`."""
    import prcoords

    if datum == "gcj02":
        return lat, lng
    if datum == "wgs84":
        out = prcoords.gcj_wgs_bored((lat, lng), check_china=False)
    elif datum == "bd09":
        out = prcoords.gcj_bd((lat, lng))
    else:
        raise ValueError(f"unknown datum {datum!r}")
    return out.lat, out.lon


# ----- the operator's CSV ------------------------------------------------------------------

@dataclass
class Rejected:
    line: int
    id: str
    errors: list[FieldError]

    def reasons(self) -> str:
        return "; ".join(f"{e.field}: {e.message}" for e in self.errors)


def normalise_datum(value: str) -> str | None:
    key = value.strip().lower().replace("-", "").replace("_", "")
    return {"gcj02": "gcj02", "gcj": "gcj02", "wgs84": "wgs84", "wgs": "wgs84", "bd09": "bd09", "bd": "bd09",
            "bd09ll": "bd09"}.get(key)


def _intervals(text: str) -> list[list[str]]:
    text = text.strip()
    if text in ("closed", "休息", ""):
        return []
    return [part.strip().split("-", 1) for part in text.split(",")]


def parse_hours(text: str) -> dict[str, list[list[str]]]:
    """"mon-fri 09:00-12:00,13:30-17:00; sat 09:00-12:00" (unnamed days are closed;
    "daily" is every day). Raises ValueError."""
    hours: dict[str, list[list[str]]] = {}
    for clause in filter(None, (c.strip() for c in text.split(";"))):
        days, _, spec = clause.partition(" ")
        days = days.lower()
        if days == "daily":
            names = list(WEEKDAYS)
        else:
            match = _DAY_RANGE.match(days)
            if not match:
                raise ValueError(f"无法识别的星期：{days}")
            first = WEEKDAYS.index(match.group(1))
            last = WEEKDAYS.index(match.group(2) or match.group(1))
            if last < first:
                raise ValueError(f"星期范围颠倒：{days}")
            names = list(WEEKDAYS[first:last + 1])
        for name in names:
            if name in hours:
                raise ValueError(f"{name} 重复出现")
            hours[name] = _intervals(spec)
    return hours


def parse_exceptions(text: str) -> list[dict[str, Any]]:
    """"2026-10-01 closed 国庆节休息; 2026-10-08 09:00-12:00 调休上班"."""
    out = []
    for clause in filter(None, (c.strip() for c in text.split(";"))):
        parts = clause.split(None, 2)
        if len(parts) < 2:
            raise ValueError(f"特殊营业日格式错误：{clause}")
        out.append({"date": parts[0], "hours": _intervals(parts[1]), "note": parts[2] if len(parts) > 2 else ""})
    return out


def _code(value: str, names: dict[str, str]) -> str:
    value = value.strip()
    by_label = {label: code for code, label in names.items()}
    return by_label.get(value, value.lower())


def parse_row(row: dict[str, str], default_datum: str) -> tuple[dict[str, Any], list[FieldError]]:
    """One CSV row as a validated GCJ-02 branch, and everything wrong with it."""
    errors: list[FieldError] = []
    get = lambda name: (row.get(name) or "").strip()  # noqa: E731
    data: dict[str, Any] = {name: get(name) for name in ("id", "name", "address", "district", "city", "phone")}
    data["kind"] = _code(get("kind"), KINDS)
    data["services"] = [_code(s, SERVICES) for s in _LIST_SPLIT.split(get("services")) if s]
    bookable = get("bookable").lower()
    data["bookable"] = True if bookable in _YES else False if bookable in _NO else bookable
    for name, parser in (("hours", parse_hours), ("exceptions", parse_exceptions)):
        try:
            data[name] = parser(get(name))
        except ValueError as error:
            errors.append(FieldError(name, "invalid", str(error)))
    datum = normalise_datum(get("datum")) if get("datum") else default_datum
    if datum is None:
        errors.append(FieldError("datum", "unknown_datum", "坐标系应为 GCJ-02、WGS-84 或 BD-09"))
    data["lat"], data["lng"] = get("lat"), get("lng")
    branch, more = validate(data)
    errors.extend(more)
    if datum and not any(e.field in ("lat", "lng") for e in more):
        branch["lat"], branch["lng"] = (round(v, 6) for v in to_gcj02(branch["lat"], branch["lng"], datum))
    return branch, errors


def read(lines: Iterable[str], default_datum: str = "gcj02") -> Iterator[tuple[int, dict[str, Any] | None,
                                                                              Rejected | None]]:
    """(line number, branch, None) or (line number, None, rejection) for each data row; a
    later row with an id already seen is rejected."""
    reader = csv.DictReader(lines)
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"CSV is missing columns: {', '.join(missing)}")
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        branch, errors = parse_row(row, default_datum)
        if branch["id"] in seen:
            errors.append(FieldError("id", "duplicate", f"与第{seen[branch['id']]}行编号重复"))
        seen.setdefault(branch["id"], line)
        yield (line, None, Rejected(line, branch["id"], errors)) if errors else (line, branch, None)

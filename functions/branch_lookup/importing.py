"""CSV rows to branches: the operator's spreadsheet form (compact hours, Chinese or code
names, any of three datums) parsed and validated row by row. Nothing here writes; the
import command writes only once every row has been checked."""
from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from functions.branch_lookup import geo, schema
from functions.common.errors import FieldError

COLUMNS = ("id", "name", "kind", "address", "district", "city", "phone", "lat", "lng", "datum", "services",
           "bookable", "hours", "exceptions")
REQUIRED_COLUMNS = ("id", "name", "kind", "address", "district", "lat", "lng")
_DAY_RANGE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)(?:-(mon|tue|wed|thu|fri|sat|sun))?$")
_YES = {"1", "true", "yes", "y", "是", "可", "可预约"}
_NO = {"", "0", "false", "no", "n", "否", "不可"}
_LIST_SPLIT = re.compile(r"[;；,，|/\s]+")


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
            names = list(schema.WEEKDAYS)
        else:
            match = _DAY_RANGE.match(days)
            if not match:
                raise ValueError(f"无法识别的星期：{days}")
            first = schema.WEEKDAYS.index(match.group(1))
            last = schema.WEEKDAYS.index(match.group(2) or match.group(1))
            if last < first:
                raise ValueError(f"星期范围颠倒：{days}")
            names = list(schema.WEEKDAYS[first:last + 1])
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
    data["kind"] = _code(get("kind"), schema.KINDS)
    data["services"] = [_code(s, schema.SERVICES) for s in _LIST_SPLIT.split(get("services")) if s]
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
    branch, more = schema.validate(data)
    errors.extend(more)
    if datum and not any(e.field in ("lat", "lng") for e in more):
        branch["lat"], branch["lng"] = (round(v, 6) for v in geo.to_gcj02(branch["lat"], branch["lng"], datum))
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

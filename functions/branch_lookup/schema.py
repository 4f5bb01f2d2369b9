"""What a branch is: kinds, services, districts and the validation every write goes
through (demo data, CSV import). Errors are collected field by field, never raised one at a
time, so an operator sees everything wrong with a row at once."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from functions.common.errors import FieldError

KINDS = {"branch": "支行", "sub_branch": "分理处", "self_service": "自助银行"}
SERVICES = {
    "cash": "现金存取",
    "atm": "自助取款",
    "wealth": "理财",
    "loans": "贷款",
    "fx": "外汇",
    "safe_deposit": "保管箱",
    "credit_card": "信用卡",
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = dict(zip(WEEKDAYS, ("周一", "周二", "周三", "周四", "周五", "周六", "周日"), strict=True))
# Ningbo's districts, county-level cities and counties, with the short forms people type.
DISTRICTS = {
    "海曙区": ("海曙",),
    "江北区": ("江北",),
    "鄞州区": ("鄞州",),
    "北仑区": ("北仑",),
    "镇海区": ("镇海",),
    "奉化区": ("奉化",),
    "余姚市": ("余姚",),
    "慈溪市": ("慈溪",),
    "宁海县": ("宁海",),
    "象山县": ("象山",),
}
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
PHONE_RE = re.compile(r"^[0-9][0-9-]{4,19}$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
MAX_TEXT = {"name": 40, "address": 100, "district": 20, "city": 20}


def minutes(hhmm: str) -> int:
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


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


def district_of(text: str) -> str | None:
    """The district named in `text` ("鄞州", "鄞州区"), if any."""
    for district, aliases in DISTRICTS.items():
        if district in text or any(alias in text for alias in aliases):
            return district
    return None

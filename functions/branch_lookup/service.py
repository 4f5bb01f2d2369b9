"""Branch lookup's rules: what a branch offers (kinds, services, districts), its opening
hours, the nearest branches with filters, text search, and the checks on the JSON routes'
and the branch query's parameters. Storage comes in as a `repo` (store.py), so this stays
plain Python.

Opening hours are Asia/Shanghai wall time, whatever zone the server runs in: a branch is
open now, opens later today, or is closed for the day.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any, Protocol

from functions.branch_lookup import spatial
from functions.branch_lookup.spatial import Entry
from functions.common import clock
from functions.common.errors import NotFound, Validator

MAX_K = 20
MAX_QUERY = 50

# ----- what a branch offers ----------------------------------------------------------------

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


def district_of(text: str) -> str | None:
    """The district named in `text` ("鄞州", "鄞州区"), if any."""
    for district, aliases in DISTRICTS.items():
        if district in text or any(alias in text for alias in aliases):
            return district
    return None


def labels() -> dict[str, dict[str, str]]:
    """Chinese names of kinds and services, for pages."""
    return {"kind_names": KINDS, "service_names": SERVICES}


# ----- opening hours -----------------------------------------------------------------------

def minutes(hhmm: str) -> int:
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


@dataclass(frozen=True)
class OpeningStatus:
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


def opening_status(branch: dict[str, Any], at: datetime | None = None) -> OpeningStatus:
    """Open now, opening later today, or closed for the day (Asia/Shanghai)."""
    local = clock.local(at)
    intervals, note = hours_on(branch, local.date())
    now = local.hour * 60 + local.minute + local.second / 60
    for start, end in intervals:
        if minutes(start) <= now < minutes(end):
            return OpeningStatus("open", end, note, all_day=(start, end) == ("00:00", "24:00"))
    for start, _end in intervals:
        if now < minutes(start):
            return OpeningStatus("later", start, note)
    return OpeningStatus("closed", "", note)


def opening_week(branch: dict[str, Any], at: datetime | None = None) -> list[dict[str, Any]]:
    """The coming seven days from today (local), dated exceptions applied, for the page."""
    today = clock.local(at).date()
    rows = []
    for offset in range(7):
        day = today + timedelta(days=offset)
        intervals, note = hours_on(branch, day)
        rows.append({
            "date": day,
            "intervals": [f"{s}-{e}" for s, e in intervals],
            "note": note,
            "today": offset == 0,
        })
    return rows


# ----- finding branches --------------------------------------------------------------------


class Repo(Protocol):
    def cell_entries(self, cells: list[str]) -> list[Entry]: ...
    def get(self, ids: list[str]) -> list[dict[str, Any]]: ...
    def catalogue(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Found:
    branch: dict[str, Any]
    distance_m: float | None = None


def nearby(repo: Repo, lat: float, lng: float, k: int, *, service: str | None = None, kind: str | None = None,
           bookable: bool | None = None, open_now: bool = False, at: datetime | None = None,
           cap_m: float = spatial.RADIUS_CAP_M) -> list[Found]:
    """The k nearest branches within `cap_m` that pass the filters, closest first."""

    def accept(entry: Entry) -> bool:
        return ((service is None or service in entry.services) and (kind is None or entry.kind == kind)
                and (bookable is None or entry.bookable == bookable))

    ranked = spatial.nearest(lat, lng, repo.cell_entries, cap_m=cap_m, accept=accept)
    out: list[Found] = []
    while len(out) < k:
        # opening hours are only in the branch records: read a few more than needed
        chunk = list(islice(ranked, (k - len(out)) * (2 if open_now else 1)))
        if not chunk:
            break
        details = {b["id"]: b for b in repo.get([entry.id for _d, entry in chunk])}
        for distance, entry in chunk:
            branch = details.get(entry.id)
            if branch and (not open_now or opening_status(branch, at).open):
                out.append(Found(branch, distance))
    return out[:k]


# Search words that say "a branch" or "near me" but name no place. Whether a chat message
# asks for branches at all is the webhook's to decide (functions/webhook/phrases.py).
_GENERIC = sorted(
    ("甬城银行", "银行", "营业网点", "网点", "营业厅", "营业部", "支行", "分理处", "查询", "查找", "查", "找",
     "在哪里", "在哪儿", "在哪", "哪里", "哪儿", "哪个", "有没有", "有吗", "有", "的", "请问", "我要", "我想",
     "想", "要", "去", "一下", "可以", "办理", "能", "换", "办", "哪家", "储蓄所", "宁波市", "宁波", "地址",
     "电话", "营业时间", "几点", "开门", "吗", "呢"),
    key=len, reverse=True)
_NEARBY = ("附近", "最近", "周边", "离我", "身边")
# Service words of a search query (the search page's "鄞州 ATM"); a chat message's service
# comes with its intent.
SERVICE_WORDS = {
    "atm": ("ATM", "取款机", "自助银行", "自助取款", "取钱", "取现"),
    "fx": ("外汇", "换汇", "外币", "兑换"),
    "wealth": ("理财",),
    "safe_deposit": ("保管箱",),
    "cash": ("现金", "存款", "存钱"),
}
_SPLIT = re.compile(r"[\s,，。.!！?？、;；:：/]+")


@dataclass(frozen=True)
class TextQuery:
    district: str | None
    service: str | None
    terms: tuple[str, ...]  # what is left: place, street or branch name


def parse(text: str) -> TextQuery:
    """A search query: its district, a service it names and the words left to find."""
    remaining = text.strip()
    upper = remaining.upper()
    service = next((s for s, words in SERVICE_WORDS.items() if any(w.upper() in upper for w in words)), None)
    for words in SERVICE_WORDS.values():
        for word in words:
            remaining = re.sub(re.escape(word), " ", remaining, flags=re.IGNORECASE)
    district = district_of(remaining)
    for word in (*_NEARBY, *sorted((d for pair in DISTRICTS.items() for d in (pair[0], *pair[1])), key=len,
                                   reverse=True), *_GENERIC):
        remaining = remaining.replace(word, " ")
    terms = tuple(t for t in _SPLIT.split(remaining) if len(t) >= 2)
    return TextQuery(district, service, terms)


def matching(repo: Repo, query: TextQuery) -> list[dict[str, Any]]:
    """The catalogue's entries for a parsed text, in the order they are shown: every term in
    the name or address, in the district, offering the service."""
    out = []
    for branch in repo.catalogue():
        haystack = f"{branch['name']} {branch['address']} {branch['district']} {branch['city']}"
        if query.district and branch["district"] != query.district:
            continue
        if query.service and query.service not in branch["services"]:
            continue
        if all(term.upper() in haystack.upper() for term in query.terms):
            out.append(branch)
    return sorted(out, key=lambda b: (b["district"], b["kind"] != "branch", b["id"]))


def search(repo: Repo, query: TextQuery) -> list[dict[str, Any]]:
    """The branches matching a parsed text, read whole."""
    return repo.get([b["id"] for b in matching(repo, query)])


def _flag(value: str | None, name: str, v: Validator) -> bool | None:
    if value is None or value == "":
        return None
    lowered = value.lower()
    if lowered in ("1", "true", "yes"):
        return True
    if lowered in ("0", "false", "no"):
        return False
    v.add(name, "invalid_bool", "应为 true 或 false")
    return None


def _float(params: dict[str, str], name: str, low: float, high: float, v: Validator) -> float:
    raw = params.get(name)
    if raw in (None, ""):
        v.add(name, "required", "必填")
        return 0.0
    try:
        value = float(raw)  # type: ignore[arg-type]
    except ValueError:
        v.add(name, "invalid_number", "应为数字")
        return 0.0
    if not low <= value <= high:  # also rejects nan
        v.add(name, "out_of_range", f"应在 {low:g} 到 {high:g} 之间")
    return value


def point(location: Any) -> tuple[float, float] | None:
    """A reported location as (lat, lng) to the stored precision, or None if impossible."""
    lat, lng = float(location.lat), float(location.lng)
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return round(lat, 6), round(lng, 6)


def nearby_params(params: dict[str, str]) -> dict[str, Any]:
    """Validated parameters of the nearby route, or ValidationFailed listing every bad one."""
    v = Validator()
    lat = _float(params, "lat", -90, 90, v)
    lng = _float(params, "lng", -180, 180, v)
    k = 5
    if params.get("k") not in (None, ""):
        raw = params["k"]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_K:
            v.add("k", "out_of_range", f"应为 1 到 {MAX_K} 的整数")
        else:
            k = int(raw)
    service = params.get("service") or None
    if service is not None and service not in SERVICES:
        v.add("service", "unknown_service", f"未知的服务：应为 {', '.join(SERVICES)} 之一")
    kind = params.get("kind") or None
    if kind is not None and kind not in KINDS:
        v.add("kind", "unknown_kind", f"未知的网点类型：应为 {', '.join(KINDS)} 之一")
    open_now = _flag(params.get("open_now"), "open_now", v)
    v.check()
    return {"lat": lat, "lng": lng, "k": k, "service": service, "kind": kind, "open_now": bool(open_now)}


def search_params(params: dict[str, str]) -> str:
    q = (params.get("q") or "").strip()
    v = Validator()
    if not q:
        v.add("q", "required", "请输入地名、街道或网点名称")
    elif len(q) > MAX_QUERY:
        v.add("q", "too_long", f"不能超过{MAX_QUERY}个字")
    v.check()
    return q


def one(repo: Repo, branch_id: str) -> dict[str, Any]:
    found = repo.get([branch_id]) if ID_RE.match(branch_id or "") else []
    if not found:
        raise NotFound("未找到该网点")
    return found[0]


def public(branch: dict[str, Any], page_url: str, distance_m: float | None = None,
           at: datetime | None = None) -> dict[str, Any]:
    """A branch as the JSON routes show it: with today's status and its page (`page_url`)."""
    status = opening_status(branch, at)
    out = {**branch, "status": {"state": status.state, "time": status.time, "label": status.label()},
           "url": page_url}
    if distance_m is not None:
        out["distance_m"] = round(distance_m)
    return out


def page_path(branch_id: str) -> str:
    """The app path of a branch's page (functions/common/urls.py puts it on a host)."""
    return f"/branches/view/{branch_id}"

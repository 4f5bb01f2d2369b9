"""The rules of an auditor's query of the audit trail, in plain Python: one question at a
time (an application, a member of staff, or an Asia/Shanghai day), paged; every bad
parameter reported at once."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from functions.common import paging
from functions.common.errors import Validator

# the question → the query parameter that asks it
BY = {"application": "application_id", "staff": "staff", "day": "day"}


@dataclass(frozen=True)
class RecordQuery:
    """Records of one application, one member of staff (their verified subject) or one day,
    oldest first, a page of `limit` from `cursor`."""

    by: str
    key: str
    limit: int
    cursor: dict | None


def record_query(query: dict[str, str]) -> RecordQuery:
    v = Validator()
    asked = {by: query[name].strip() for by, name in BY.items() if (query.get(name) or "").strip()}
    if not asked:
        v.add("query", "query_required", "请按申请编号、员工或日期查询")
    elif len(asked) > 1:
        v.add("query", "query_ambiguous", "申请编号、员工和日期每次只能选一项")
    if "day" in asked:
        try:
            date.fromisoformat(asked["day"])
        except ValueError:
            v.add("day", "date_invalid", "日期格式应为YYYY-MM-DD")
    limit, cursor = paging.page(query, v)
    v.check()
    [(by, key)] = asked.items()
    return RecordQuery(by, key, limit, cursor)

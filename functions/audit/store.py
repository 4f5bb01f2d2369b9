"""The audit trail, read only (the table and its records: functions/common/audit.py;
infra/resources/audit.yml). The audit function's role may query its indexes and nothing
else."""
from __future__ import annotations

from functions.common.audit import Record

INDEXES = {"application": Record.by_application, "staff": Record.by_staff, "day": Record.by_day}


def records(by: str, key: str, limit: int, cursor: dict | None) -> tuple[list[Record], dict | None]:
    """One page of the records of an application, a member of staff or a day, oldest first."""
    result = INDEXES[by].query(key, limit=limit, last_evaluated_key=cursor)
    items = list(result)
    return items, result.last_evaluated_key

"""What an auditor can do: search the audit trail by application, by member of staff or by
day. The trail holds no customer's personal data, so records are shown as they are."""
from __future__ import annotations

from functions.audit import service, store
from functions.common import clock, paging
from functions.common.audit import Record


def view(record: Record) -> dict:
    return {
        "record_id": record.record_id,
        "at": record.at,
        "at_local": clock.show_time(clock.parse_utc(record.at)),
        "day": record.day,
        "subject": record.subject,
        "role": record.role,
        "action": record.action,
        "application_id": record.application_id,
        "booking_id": record.booking_id,
        "reason": record.reason,
        "detail": record.detail,
        "source_ip": record.source_ip,
        "user_agent": record.user_agent,
    }


def search(query: dict[str, str]) -> dict:
    wanted = service.record_query(query)
    items, next_key = store.records(wanted.by, wanted.key, wanted.limit, wanted.cursor)
    return {"items": [view(r) for r in items], "cursor": paging.encode_cursor(next_key)}

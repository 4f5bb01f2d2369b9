"""The audit trail of the back office: one record for every decrypted read of personal data
and every decision of staff, written before the data or the answer leaves, append-only.

A record names who (the verified subject) in which role did what, to which application or
booking, why, when (UTC; `day` is the Asia/Shanghai date auditors search by) and from where
(source IP, user agent). It holds no customer's personal data. Records are only ever put
new, on the condition that their id is unused: never overwritten, updated or deleted (the
writers' roles hold PutItem alone on the table; the audit function only reads).
"""
from __future__ import annotations

import secrets

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from functions.common import clock
from functions.common.dynamo import Model, table_meta
from functions.common.staff import Staff

# What a record says was done
READ_PERSONAL = "read_personal"  # an application's personal data decrypted for a reviewer
LOAN_REVIEW = "loan_review"
LOAN_RECOMMEND = "loan_recommend"
LOAN_APPROVE = "loan_approve"
LOAN_REJECT = "loan_reject"
BOOKING_OUTCOME = "booking_outcome"
ACTIONS = (READ_PERSONAL, LOAN_REVIEW, LOAN_RECOMMEND, LOAN_APPROVE, LOAN_REJECT, BOOKING_OUTCOME)


class ByApplication(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_application"
        projection = AllProjection()

    application_id = UnicodeAttribute(hash_key=True)
    record_id = UnicodeAttribute(range_key=True)


class ByStaff(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_staff"
        projection = AllProjection()

    subject = UnicodeAttribute(hash_key=True)
    record_id = UnicodeAttribute(range_key=True)


class ByDay(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_day"
        projection = AllProjection()

    day = UnicodeAttribute(hash_key=True)
    record_id = UnicodeAttribute(range_key=True)


class Record(Model):
    Meta = table_meta("audit")
    record_id = UnicodeAttribute(hash_key=True)  # <UTC time>#<random>: in time order within an index
    at = UnicodeAttribute()
    day = UnicodeAttribute()
    subject = UnicodeAttribute()
    role = UnicodeAttribute()
    action = UnicodeAttribute()
    application_id = UnicodeAttribute(null=True)
    booking_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)  # why: a read's chosen reason, a decision's reason
    detail = UnicodeAttribute(null=True)  # the outcome: a recommendation, a status
    source_ip = UnicodeAttribute()
    user_agent = UnicodeAttribute()

    by_application = ByApplication()
    by_staff = ByStaff()
    by_day = ByDay()


# The condition every record is put under: a new id, never an existing record's.
NEW = Record.record_id.does_not_exist()


def record(member: Staff, role: str, action: str, *, application_id: str | None = None,
           booking_id: str | None = None, reason: str | None = None, detail: str | None = None) -> Record:
    """A record of what `member`, acting in `role`, does now."""
    now = clock.now()
    at = clock.iso(now)
    return Record(f"{at}#{secrets.token_hex(8)}", at=at, day=clock.local(now).date().isoformat(),
                  subject=member.subject, role=role, action=action, application_id=application_id,
                  booking_id=booking_id, reason=reason, detail=detail, source_ip=member.source_ip or "-",
                  user_agent=(member.user_agent or "-")[:512])


def write(entry: Record) -> None:
    """Put one record, new only; any failure raises, so the caller returns nothing."""
    entry.save(condition=NEW)

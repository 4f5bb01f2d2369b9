"""The applications table (single-table design, infra/resources/loan_apply.yml).

  APP#<id> / APP                 the application (personal data sealed, masked copies for lists)
  APP#<id> / H#<seq>             its status history, append-only (seq = the revision it made)
  IDEM#<openid>#<key> / IDEM     a submit's idempotency key → the application it created
  DAILY#<openid>#<date> / DAILY  submissions of one openid on one Asia/Shanghai day
  DAILY#PHONE#<hash>#<date> / DAILY  submissions with one mobile number (keyed hash) that day
  OPEN#<id hash>#<product> / OPEN    the one open application of an ID number for a product
  READS#<subject>#<UTC hour> / READS decrypted reads of one member of staff in one hour

Every status change is one transaction: the application, conditioned on the status and
revision the caller read, and its history item, conditioned on not existing yet.
"""
from __future__ import annotations

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from functions.common import audit, dynamo
from functions.common.dynamo import Model, TTLAttribute, table_meta

IDEMPOTENCY_TTL_S = 7 * 86400
COUNTER_TTL_S = 2 * 86400


class DuplicateSubmission(Exception):
    """The idempotency key was claimed first by another request."""


class OpenApplicationExists(Exception):
    """The ID number already has an open application for the product."""


class DailyLimitReached(Exception):
    """A day's submissions are used up; `per` says whose: "openid" or "phone"."""

    def __init__(self, per: str):
        super().__init__(per)
        self.per = per


class Contended(Exception):
    """Another submission held one of the day's counters at the same moment (DynamoDB's
    TransactionConflict): nothing was written; trying again is safe."""


class StaleStatus(Exception):
    """The application changed after the caller read it."""


class ReasonMap(MapAttribute):
    code = UnicodeAttribute()
    outcome = UnicodeAttribute()
    message = UnicodeAttribute()


class ByOpenid(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_openid"
        projection = AllProjection()

    openid = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class Queue(GlobalSecondaryIndex):
    class Meta:
        index_name = "queue"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class QueueByProduct(GlobalSecondaryIndex):
    class Meta:
        index_name = "queue_product"
        projection = AllProjection()

    status_product = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class Application(Model):
    Meta = table_meta("applications")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="APP")
    application_id = UnicodeAttribute()
    openid = UnicodeAttribute()
    product = UnicodeAttribute()
    status = UnicodeAttribute()
    status_product = UnicodeAttribute()
    revision = NumberAttribute()
    created_at = UnicodeAttribute()
    created_key = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    amount_fen = NumberAttribute()
    term_months = NumberAttribute(null=True)
    monthly_income_fen = NumberAttribute()
    employment_type = UnicodeAttribute()
    purpose = UnicodeAttribute(null=True)
    city = UnicodeAttribute()
    sealed = UnicodeAttribute()
    id_hash = UnicodeAttribute()
    masked_name = UnicodeAttribute()
    masked_id_number = UnicodeAttribute()
    masked_phone = UnicodeAttribute()
    consent_version = UnicodeAttribute()
    consent_at = UnicodeAttribute()
    verdict = UnicodeAttribute()
    reasons = ListAttribute(of=ReasonMap, default=list)
    instalment_fen = NumberAttribute(null=True)
    ratio_bp = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    by_openid = ByOpenid()
    queue = Queue()
    queue_by_product = QueueByProduct()


class History(Model):
    Meta = table_meta("applications")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    application_id = UnicodeAttribute()
    seq = NumberAttribute()
    actor_role = UnicodeAttribute()
    actor = UnicodeAttribute()
    at = UnicodeAttribute()
    from_status = UnicodeAttribute(null=True)
    to_status = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    step = UnicodeAttribute(null=True)  # service.SUBMIT ... REJECT; older entries: the step to to_status
    recommendation = UnicodeAttribute(null=True)  # a reviewer's: service.APPROVE or REJECT
    expires_at = TTLAttribute(null=True)


class IdempotencyRecord(Model):
    Meta = table_meta("applications")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="IDEM")
    application_id = UnicodeAttribute()
    fingerprint = UnicodeAttribute()
    expires_at = TTLAttribute()


class DailyCounter(Model):
    Meta = table_meta("applications")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="DAILY")
    submissions = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)


class OpenApplication(Model):
    """Claimed with the application it names and released when that one is decided or
    withdrawn, in the same transactions, so two submissions never both stay open."""

    Meta = table_meta("applications")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="OPEN")
    application_id = UnicodeAttribute()
    openid = UnicodeAttribute()


class ReadCounter(Model):
    """Decrypted reads of personal data by one member of staff in one UTC hour."""

    Meta = table_meta("applications")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="READS")
    reads = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)


def count_read(subject: str, hour: str, limit: int, expires_at: int) -> bool:
    """Count one decrypted read of `subject` in `hour`; False, counting nothing, when the
    hour's `limit` is reached (one conditional update: concurrent reads never pass it)."""
    counter = ReadCounter(f"READS#{subject}#{hour}", "READS")
    return counter.update_if([ReadCounter.reads.add(1), ReadCounter.expires_at.set(expires_at)],
                             ReadCounter.reads.does_not_exist() | (ReadCounter.reads < limit))


def open_marker(id_hash: str, product: str) -> OpenApplication:
    return OpenApplication(f"OPEN#{id_hash}#{product}", "OPEN")


def app_pk(application_id: str) -> str:
    return f"APP#{application_id}"


def history_sk(seq: int) -> str:
    return f"H#{seq:04d}"


def _cancelled_at(error: TransactWriteError, *codes: str) -> set[int]:
    """Indexes of the transaction items cancelled for one of `codes`."""
    return {i for i, r in enumerate(error.cancellation_reasons or []) if r and r.code in codes}


def get(application_id: str) -> Application | None:
    try:
        return Application.get(app_pk(application_id), "APP", consistent_read=True)
    except Application.DoesNotExist:
        return None


def idempotency(openid: str, key: str) -> IdempotencyRecord | None:
    try:
        return IdempotencyRecord.get(f"IDEM#{openid}#{key}", "IDEM", consistent_read=True)
    except IdempotencyRecord.DoesNotExist:
        return None


def open_application(id_hash: str, product: str) -> OpenApplication | None:
    """The open application of this ID number for this product, if there is one."""
    try:
        return OpenApplication.get(f"OPEN#{id_hash}#{product}", "OPEN", consistent_read=True)
    except OpenApplication.DoesNotExist:
        return None


def create(app: Application, history: History, openid: str, key: str, fingerprint: str, day: str,
           daily_limit: int, now_epoch: int, phone_hash: str, phone_daily_limit: int) -> None:
    """Write a new application in one transaction: claim the idempotency key, count the
    submission against the day's limits of the openid and of the mobile number, claim the
    ID number's open slot for the product, put the application and its first history item.
    A retry with a claimed key fails on the key, so it never counts twice."""
    idem = IdempotencyRecord(f"IDEM#{openid}#{key}", application_id=app.application_id,
                             fingerprint=fingerprint, expires_at=now_epoch + IDEMPOTENCY_TTL_S)
    counters = [(DailyCounter(f"DAILY#{openid}#{day}"), daily_limit),  # item 4
                (DailyCounter(f"DAILY#PHONE#{phone_hash}#{day}"), phone_daily_limit)]  # item 5
    try:
        with dynamo.transaction() as tx:
            tx.save(idem, condition=IdempotencyRecord.pk.does_not_exist())  # item 0
            tx.save(app, condition=Application.pk.does_not_exist())  # item 1
            tx.save(history, condition=History.pk.does_not_exist())  # item 2
            marker = open_marker(app.id_hash, app.product)
            marker.application_id, marker.openid = app.application_id, openid
            tx.save(marker, condition=OpenApplication.pk.does_not_exist())  # item 3 (PynamoDB sends puts first)
            for counter, limit in counters:
                tx.update(counter, actions=[
                    DailyCounter.submissions.add(1),
                    DailyCounter.expires_at.set(now_epoch + COUNTER_TTL_S),
                ], condition=DailyCounter.submissions.does_not_exist() | (DailyCounter.submissions < limit))
    except TransactWriteError as error:
        # TransactionConflict: a concurrent request is writing the same key right now
        if 0 in _cancelled_at(error, "ConditionalCheckFailed", "TransactionConflict"):
            raise DuplicateSubmission from None
        full = _cancelled_at(error, "ConditionalCheckFailed")
        if 3 in full:
            raise OpenApplicationExists from None
        if 4 in full:
            raise DailyLimitReached("openid") from None
        if 5 in full:
            raise DailyLimitReached("phone") from None
        if _cancelled_at(error, "TransactionConflict"):
            raise Contended from None
        raise


def transition(app: Application, history: History, expires_at: int | None, closes: bool,
               trail: audit.Record | None = None) -> None:
    """Move `app` to `history.to_status`, only if it is still in the status and revision the
    caller read. When the new status is purged later, every item of the application gets
    the same expiry; when it `closes` the application, the ID number's open slot for the
    product is released. A decision of staff puts its audit record in the same transaction:
    no decision without its record."""
    actions: list[Action] = [
        Application.status.set(history.to_status),
        Application.status_product.set(f"{history.to_status}#{app.product}"),
        Application.revision.set(history.seq),
        Application.updated_at.set(history.at),
    ]
    if expires_at is not None:
        actions.append(Application.expires_at.set(expires_at))
        history.expires_at = expires_at
    try:
        with dynamo.transaction() as tx:
            tx.save(history, condition=History.pk.does_not_exist())
            if trail is not None:
                tx.save(trail, condition=audit.NEW)
            tx.update(app, actions=actions,
                      condition=(Application.status == app.status) & (Application.revision == app.revision))
            if expires_at is not None:
                for seq in range(1, int(history.seq)):
                    earlier = History(app.pk, history_sk(seq))
                    tx.update(earlier, actions=[History.expires_at.set(expires_at)],
                              condition=History.pk.exists())
            if closes:
                tx.delete(open_marker(app.id_hash, app.product),
                          condition=OpenApplication.application_id == app.application_id)
    except TransactWriteError as error:
        if dynamo.cancelled(error):
            raise StaleStatus from None
        raise


def history(application_id: str) -> list[History]:
    return list(History.query(app_pk(application_id), History.sk.startswith("H#"), consistent_read=True))


def latest_change(application_id: str) -> History:
    """The application's last history entry (every application has its submission's)."""
    return History.query(app_pk(application_id), History.sk.startswith("H#"), consistent_read=True,
                         scan_index_forward=False, limit=1)[0]


def by_openid(openid: str, limit: int = 50) -> list[Application]:
    return list(Application.by_openid.query(openid, scan_index_forward=False, limit=limit))


def queue(status: str, product: str | None, start: str, end: str, limit: int,
          cursor: dict | None) -> tuple[list[Application], dict | None]:
    """Applications in `status` (and `product`) created in [start, end), oldest first."""
    between = Application.created_key.between(start, end)
    if product:
        result = Application.queue_by_product.query(f"{status}#{product}", between, limit=limit,
                                                    last_evaluated_key=cursor)
    else:
        result = Application.queue.query(status, between, limit=limit, last_evaluated_key=cursor)
    items = list(result)
    return items, result.last_evaluated_key

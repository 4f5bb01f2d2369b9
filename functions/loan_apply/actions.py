"""What an applicant or the back office can do with applications: the rules of service.py
applied to the catalogue, the applications table (store.py), sealed personal data and
events on the notify queue. Raises ApiError for anything refused.

Personal data (name, ID number, phone) is sealed with KMS under a context bound to the
application id, looked up by keyed hash of the ID number, and only ever shown masked,
except to staff through `staff_read`, which puts each read on the audit trail first. Every
decision of staff goes on the trail in the transaction that records it.
"""
from __future__ import annotations

import json
import random
import secrets
from datetime import date, datetime
from time import sleep
from typing import TYPE_CHECKING

from functions.common import clock, config, events, paging, pii, staff
from functions.common.errors import ApiError, Conflict, FieldError, NotFound, ServiceUnavailable, TooManyRequests
from functions.common.log import get_logger
from functions.common.money import yuan
from functions.common.once import ModuleOnFirstUse
from functions.common.staff import Staff
from functions.loan_apply import catalogue, service

if TYPE_CHECKING:
    from functions.common import audit
    from functions.loan_apply import store
else:  # the tables (and PynamoDB) load with the first answer that reads one: the form reads none
    audit = ModuleOnFirstUse("functions.common.audit")
    store = ModuleOnFirstUse("functions.loan_apply.store")

logger = get_logger()
SOURCE = "loan_apply"
ATTEMPTS = 5  # a submit that met another on a shared counter is tried again, a few times


def _context(application_id: str) -> dict[str, str]:
    return {"application_id": application_id, "purpose": "loan_application"}


def _new_id(now: datetime) -> str:
    return f"LA{clock.local(now).date().isoformat().replace('-', '')}{secrets.token_hex(5).upper()}"


# ---- views ---------------------------------------------------------------------------------


def view(app: store.Application) -> dict:
    """An application as its applicant and the staff queue see it: personal data masked."""
    products = catalogue.load()
    product = products.product(app.product)
    return {
        "application_id": app.application_id,
        "product": app.product,
        "product_name": products.product_name(app.product),
        "kind": product.kind if product else "loan",
        "status": app.status,
        "status_label": service.STATUS_LABELS[app.status],
        "can_withdraw": service.can_withdraw(app.status),
        "amount_fen": int(app.amount_fen),
        "amount": yuan(int(app.amount_fen)),
        "term_months": int(app.term_months) if app.term_months is not None else None,
        "monthly_income_fen": int(app.monthly_income_fen),
        "employment_type": app.employment_type,
        "employment_label": products.employment_types.get(app.employment_type, app.employment_type),
        "purpose": app.purpose,
        "purpose_label": product.purposes.get(app.purpose or "", app.purpose) if product else app.purpose,
        "city": app.city,
        "name": app.masked_name,
        "id_number": app.masked_id_number,
        "phone": app.masked_phone,
        "consent_version": app.consent_version,
        "consent_at": app.consent_at,
        "created_at": app.created_at,
        "created_at_local": clock.show_time(clock.parse_utc(app.created_at)),
        "prescreen": {
            "verdict": app.verdict,
            "label": service.VERDICT_LABELS[app.verdict],
            "reasons": [{"code": r.code, "outcome": r.outcome, "message": r.message} for r in app.reasons],
            "instalment_fen": int(app.instalment_fen) if app.instalment_fen is not None else None,
            "ratio_bp": int(app.ratio_bp) if app.ratio_bp is not None else None,
            "disclaimer": service.DISCLAIMER,
        },
    }


def history_view(items: list[store.History]) -> list[dict]:
    """Every step of an application, as staff see it."""
    return [
        {
            "seq": int(h.seq),
            "step": _step(h),
            "step_label": service.step_label(_step(h), h.recommendation),
            "from": h.from_status,
            "to": h.to_status,
            "to_label": service.STATUS_LABELS[h.to_status],
            "recommendation": h.recommendation,
            "actor_role": h.actor_role,
            "actor": h.actor,
            "at": h.at,
            "at_local": clock.show_time(clock.parse_utc(h.at)),
            "reason": h.reason,
        }
        for h in items
    ]


# ---- applicant -----------------------------------------------------------------------------


def _fingerprint(form: service.ApplicationInput) -> str:
    """Keyed hash of the whole submission, so a reused key with other data is caught."""
    data = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in form.__dict__.items()}
    return pii.keyed_hash(json.dumps(data, sort_keys=True, ensure_ascii=False), "loan_submission")


def _replay(record: store.IdempotencyRecord, fingerprint: str) -> dict:
    if record.fingerprint != fingerprint:
        raise Conflict("idempotency_key_reused", "该提交编号已用于另一份申请，请刷新页面后重新填写")
    app = store.get(record.application_id)
    if app is None:
        raise NotFound()
    return {"application": view(app), "replayed": True}


def submit(openid: str, form: dict, idempotency_key: str | None) -> dict:
    """Validate, pre-screen and store one application; a repeat of the same submission
    (double click, network retry, concurrent duplicates) answers the first one's result."""
    products = catalogue.load()
    parsed, key = service.parse_submission(form, idempotency_key, products)
    fingerprint = _fingerprint(parsed)
    existing = store.idempotency(openid, key)
    if existing is not None:
        return _replay(existing, fingerprint)

    now = clock.now()
    id_hash = pii.keyed_hash(parsed.id_number, "resident_id")
    age = service.age_on(parsed.birth_date, clock.local(now).date())
    open_one = store.open_application(id_hash, parsed.product)
    if open_one is not None:
        finished = store.idempotency(openid, key)  # this very submission, completed a moment ago
        if finished is not None:
            return _replay(finished, fingerprint)
        raise _already_open(openid, open_one, products.product_name(parsed.product))
    result = service.prescreen(products, parsed, age)
    app, first = _records(openid, parsed, id_hash, result, now)
    try:
        _create(app, first, openid, key, fingerprint, clock.local(now).date(), pii.keyed_hash(parsed.phone, "phone"))
    except store.DuplicateSubmission:
        claimed = store.idempotency(openid, key)
        if claimed is None:  # the key's first request is still being written, or was rolled back
            raise Conflict("submission_in_progress", "申请正在提交，请稍后刷新查看") from None
        return _replay(claimed, fingerprint)
    except store.DailyLimitReached as reached:
        raise _limit_reached(reached.per) from None
    except store.OpenApplicationExists:  # another submission opened one a moment ago
        raise _already_open(openid, store.open_application(id_hash, parsed.product),
                            products.product_name(parsed.product)) from None
    logger.info("application submitted", extra={"application_id": app.application_id, "product": parsed.product,
                                                "verdict": result.verdict})
    _publish(app, first)
    return {"application": view(app), "replayed": False}


def _already_open(openid: str, open_one: store.OpenApplication | None, product_name: str) -> Conflict:
    """One open application per ID number and product: a second is refused, with a link to
    the open one when it is the caller's own (someone else's stays unnamed)."""
    link = f"/loans/mine/{open_one.application_id}" if open_one is not None and open_one.openid == openid else None
    return Conflict("application_open", f"您已有一笔{product_name}申请正在处理中，请等待审核结果，无需重复申请", link)


def _records(openid: str, parsed: service.ApplicationInput, id_hash: str, result: service.Prescreen,
             now: datetime) -> tuple[store.Application, store.History]:
    """A new application, its personal data sealed and masked, and its first history item."""
    application_id = _new_id(now)
    at = clock.iso(now)
    app = store.Application(
        store.app_pk(application_id),
        application_id=application_id,
        openid=openid,
        product=parsed.product,
        status=service.SUBMITTED,
        status_product=f"{service.SUBMITTED}#{parsed.product}",
        revision=1,
        created_at=at,
        created_key=f"{at}#{application_id}",
        updated_at=at,
        amount_fen=parsed.amount_fen,
        term_months=parsed.term_months,
        monthly_income_fen=parsed.monthly_income_fen,
        employment_type=parsed.employment_type,
        purpose=parsed.purpose,
        city=parsed.city,
        sealed=pii.seal(parsed.personal(), _context(application_id)),
        id_hash=id_hash,
        masked_name=pii.mask_name(parsed.name),
        masked_id_number=pii.mask_id_number(parsed.id_number),
        masked_phone=pii.mask_phone(parsed.phone),
        consent_version=parsed.consent_version,
        consent_at=at,
        verdict=result.verdict,
        reasons=[store.ReasonMap(code=r.code, outcome=r.outcome, message=r.message) for r in result.reasons],
        instalment_fen=result.instalment_fen,
        ratio_bp=result.ratio_bp,
    )
    first = store.History(app.pk, store.history_sk(1), application_id=application_id, seq=1,
                          actor_role=service.APPLICANT, actor=openid, at=at, from_status=None,
                          to_status=service.SUBMITTED, reason=None)
    return app, first


def _limit_reached(per: str) -> ApiError:
    settings = config.settings()
    if per == "phone":
        message = f"该手机号码今天已提交{settings.loan_phone_daily_limit}次申请，请明天再试"
        return ApiError(429, "phone_daily_limit", message, [FieldError("phone", "phone_daily_limit", message)])
    return TooManyRequests("daily_limit", f"每天最多提交{settings.loan_daily_limit}次申请，请明天再试")


def _create(app: store.Application, first: store.History, openid: str, key: str, fingerprint: str, day: date,
            phone_hash: str) -> None:
    """store.create, tried again when another submission held a shared counter (the
    per-phone one is shared across openids) at the same moment."""
    settings = config.settings()
    for attempt in range(ATTEMPTS):
        try:
            store.create(app, first, openid, key, fingerprint, day.isoformat(), settings.loan_daily_limit,
                         clock.epoch(), phone_hash, settings.loan_phone_daily_limit)
            return
        except store.Contended:
            sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not security
    raise ServiceUnavailable()


def _owned(openid: str, application_id: str) -> store.Application:
    """The applicant's own application; anyone else's is indistinguishable from none."""
    app = store.get(application_id)
    if app is None or app.openid != openid:
        raise NotFound("未找到该申请")
    return app


def mine(openid: str) -> list[dict]:
    return [view(app) for app in store.by_openid(openid)]


def one_of_mine(openid: str, application_id: str) -> dict:
    app = _owned(openid, application_id)
    changes = [h for h in store.history(application_id) if h.from_status != h.to_status]
    return {**view(app), "history": history_view(changes)}  # the status changes, not staff's own steps


def withdraw(openid: str, application_id: str, reason: str | None = None) -> dict:
    app = _owned(openid, application_id)
    return _transition(app, service.WITHDRAWN, service.APPLICANT, openid,
                       service.check_reason(reason, service.WITHDRAWN))


# ---- back office ---------------------------------------------------------------------------


def _audited(step: str) -> str:
    """The audit trail's name for a step of staff."""
    names = {service.REVIEW: audit.LOAN_REVIEW, service.APPROVE: audit.LOAN_APPROVE, service.REJECT: audit.LOAN_REJECT}
    return names[step]


def _application(application_id: str) -> store.Application:
    app = store.get(application_id)
    if app is None:
        raise NotFound("未找到该申请")
    return app


def staff_transition(member: Staff, application_id: str, target: str, reason: str | None) -> dict:
    """A reviewer takes an application into review; an approver approves or rejects it, under
    the four-eyes rules (service.decide)."""
    service.check_target(target)
    app = _application(application_id)
    role, step, reason = service.staff_role(target), service.step_of(target), service.check_reason(reason, target)
    if not service.allowed(app.status, target, role):
        return _transition(app, target, role, member.subject, reason)  # a retry of what happened, or refused
    lands = target
    if target in (service.APPROVED, service.REJECTED):
        history = store.history(application_id)
        if _repeats(history[-1], step, member.subject, reason):
            return view(app)  # a retry of a first approval, which left the status as it was
        steps = [service.Step(_step(h), h.actor) for h in history]
        lands = service.decide(target, member.subject, int(app.amount_fen), steps,
                               config.settings().loan_two_approvers_above_fen)
    trail = audit.record(member, role, _audited(step), application_id=application_id, reason=reason, detail=lands)
    return _transition(app, target, role, member.subject, reason, lands, trail)


def recommend(member: Staff, application_id: str, recommendation: str | None, note: str | None) -> dict:
    """A reviewer's recommendation on an application under review, for the approvers."""
    choice, note = service.check_recommendation(recommendation, note)
    app = _application(application_id)
    service.check_under_review(app.status)
    if _repeats(store.latest_change(application_id), service.RECOMMEND, member.subject, note, choice):
        return view(app)
    trail = audit.record(member, staff.LOAN_REVIEWER, audit.LOAN_RECOMMEND, application_id=application_id,
                         reason=note, detail=choice)
    return _record(app, _entry(app, service.RECOMMEND, staff.LOAN_REVIEWER, member.subject, note, app.status,
                               recommendation=choice), trail)


def _step(entry: store.History) -> str:
    return service.entry_step(entry.step, entry.to_status)


def _repeats(last: store.History, step: str, actor: str, reason: str | None, recommendation: str | None = None) -> bool:
    """Whether `last` is this very step by this actor (a retry of it, not a new one)."""
    return (_step(last), last.actor, last.reason, last.recommendation) == (step, actor, reason, recommendation)


def _entry(app: store.Application, step: str, role: str, actor: str, reason: str | None, lands: str,
           recommendation: str | None = None) -> store.History:
    seq = int(app.revision) + 1
    return store.History(app.pk, store.history_sk(seq), application_id=app.application_id, seq=seq,
                         actor_role=role, actor=actor, at=clock.iso(clock.now()), from_status=app.status,
                         to_status=lands, reason=reason, step=step, recommendation=recommendation)


def _transition(app: store.Application, target: str, role: str, actor: str, reason: str | None,
                lands: str | None = None, trail: audit.Record | None = None) -> dict:
    """A change towards `target` by `actor` in `role`, landing in `lands` (the status a first
    of two approvals leaves as it is); a retry of the change that already happened publishes
    its event again (same event id)."""
    step = service.step_of(target)
    if not service.allowed(app.status, target, role):
        last = store.latest_change(app.application_id) if app.status == target else None
        if last is not None and _repeats(last, step, actor, reason):
            _publish(app, last)
            return view(app)
        raise Conflict("illegal_transition", service.illegal_transition(app.status, target))
    return _record(app, _entry(app, step, role, actor, reason, lands or target), trail)


def _record(app: store.Application, entry: store.History, trail: audit.Record | None = None) -> dict:
    """Store one step of the application's history (and its new status, and the audit record
    of a step of staff); publish the change of status, if it is one."""
    target = entry.to_status
    purge_after_s = config.settings().loan_purge_after_days * 86400
    expires = clock.epoch() + purge_after_s if target in service.PURGED else None
    try:
        store.transition(app, entry, expires, closes=target not in service.OPEN, trail=trail)
    except store.StaleStatus:
        if not _made_by(entry):
            raise Conflict("status_changed", "申请状态已被他人更新，请刷新后重试") from None
        # DynamoDB applied it, its answer was lost, and the SDK's retry failed on it
    logger.info("application step recorded", extra={"application_id": app.application_id, "step": entry.step,
                                                     "from": entry.from_status, "to": target,
                                                     "role": entry.actor_role})
    app.status, app.revision, app.updated_at, app.expires_at = target, entry.seq, entry.at, expires
    if entry.from_status != target:
        _publish(app, entry)
    return view(app)


def _made_by(entry: store.History) -> bool:
    """Whether the application's latest change is `entry` itself (same step, time and actor)."""
    latest = store.latest_change(entry.application_id)
    return (latest.seq, latest.at, latest.actor, latest.to_status) == (entry.seq, entry.at, entry.actor,
                                                                        entry.to_status)


def _publish(app: store.Application, entry: store.History) -> None:
    """One event per transition; its id is derived from the transition so a retry is a
    duplicate notify drops."""
    events.publish(
        "loan_status_changed",
        {
            "openid": app.openid,
            "application_id": app.application_id,
            "product": catalogue.load().product_name(app.product),
            "status": entry.to_status,
            "status_label": service.STATUS_LABELS[entry.to_status],
            "reason": entry.reason or "",
        },
        SOURCE,
        event_id=f"loan_status_changed:{app.application_id}:{int(entry.seq)}",
    )


def staff_queue(query: dict) -> dict:
    """The work queue: one status (default SUBMITTED), optionally one product, created
    between two Asia/Shanghai dates (inclusive), oldest first, paged by cursor."""
    wanted = service.queue_filter(query, catalogue.load(), clock.local().date())
    items, next_key = store.queue(wanted.status, wanted.product, clock.iso(wanted.start), clock.iso(wanted.end),
                                  wanted.limit, wanted.cursor)
    return {"items": [view(app) for app in items], "cursor": paging.encode_cursor(next_key)}


def _count_read(member: Staff) -> None:
    """Decrypted reads are limited per member of staff and hour (STAFF_READ_HOURLY_LIMIT):
    beyond the limit the read is refused (429) and an alert goes to operators, once per
    member and hour (the event id)."""
    limit = config.settings().staff_read_hourly_limit
    window = clock.now().replace(minute=0, second=0, microsecond=0)
    hour = clock.iso(window)
    if store.count_read(member.subject, hour, limit, int(window.timestamp()) + 2 * 3600):
        return
    logger.warning("staff read limit reached", extra={"staff": member.subject, "limit": limit})
    events.publish("staff_read_limit_exceeded", {
        "subject": member.subject, "role": staff.LOAN_REVIEWER, "limit": limit, "window_start": clock.iso(window),
        "source": SOURCE,
    }, SOURCE, event_id=f"staff_read_limit_exceeded:{member.subject}:{hour}")
    raise TooManyRequests("read_limit_reached", f"每小时最多查看{limit}次个人信息，请稍后再试")


def staff_summary(application_id: str) -> dict:
    """One application as the queue shows it (personal data masked) with every step and
    recommendation: what an approver decides on. Nothing is decrypted, so nothing is counted."""
    return _with_steps(_application(application_id))


def _with_steps(app: store.Application) -> dict:
    """An application as staff see it: masked, with every step of its history."""
    return {**view(app), "history": history_view(store.history(app.application_id))}


def staff_read(member: Staff, application_id: str, reason: str | None) -> dict:
    """One application with its personal data decrypted, for a reason the reviewer chose.
    The read goes on the audit trail before the data is opened; no record, no data."""
    why = service.check_read_reason(reason)
    app = _application(application_id)
    _count_read(member)
    audit.write(audit.record(member, staff.LOAN_REVIEWER, audit.READ_PERSONAL, application_id=application_id,
                             reason=why))
    personal = pii.unseal(app.sealed, _context(application_id))
    logger.info("personal data read", extra={"application_id": application_id, "staff": member.subject,
                                             "read_reason": why})
    return {**_with_steps(app), "personal": {k: personal[k] for k in service.PERSONAL_FIELDS}}

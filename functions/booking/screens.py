"""What the H5 pages show at each step: branch → service → date → slot → contact details,
and the reschedule picker. Builds template contexts from actions; renders nothing itself."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from functions.booking import actions, service
from functions.common import branches, clock, config, pages, session
from functions.common.errors import ApiError, Validator

if TYPE_CHECKING:
    from functions.booking import store

PAGES = Path(__file__).parent / "pages"


def render(template: str, openid: str, **context: Any) -> str:
    return pages.render(PAGES, template, csrf_token=session.csrf_token(openid), services=service.SERVICES, **context)


DAY_NOTES = {"closed": "休息", "full": "已满"}


def dates(spot: actions.Place, code: str) -> list[dict[str, Any]]:
    """The bookable dates; a closed day, or one whose slots are all past or taken, is off."""
    return [{"date": day.isoformat(), "label": clock.show_date(day), "open": status == "open",
             "note": DAY_NOTES.get(status, "")}
            for day, status in actions.days(spot, code)]


def _first_open(days: list[dict[str, Any]]) -> str | None:
    return next((d["date"] for d in days if d["open"]), None)


def wizard(openid: str, query: dict[str, str], error: ApiError | None = None, form: dict | None = None) -> str:
    """The booking page: shows the next step for what has been chosen so far."""
    branch_id = query.get("branch_id") or ""
    spot = actions.place(branch_id)
    ctx: dict[str, Any] = {"branch": spot.branch, "offered": spot.services, "error": error, "form": form or {}}
    code = query.get("service")
    if code:
        if code not in service.SERVICES:
            raise service.field_error(400, "unknown_service", "service", "请选择业务类型")
        spot = actions.place(branch_id, code)
        ctx["service"] = code
        ctx["dates"] = days = dates(spot, code)
        ctx["date"] = day = query.get("date") or _first_open(days)
        ctx["slots"] = _slots(branch_id, code, day, ctx)
    slot = query.get("slot_start")
    if code and slot:
        start = clock.parse_utc(slot) if _is_instant(slot) else None
        if start is None or start not in {clock.parse_utc(s["start"]) for s in ctx.get("slots", [])}:
            ctx["error"] = ctx["error"] or service.field_error(409, "slot_unavailable", "slot_start",
                                                               "该时段已不可预约，请重新选择")
        else:
            ctx["slot_start"] = clock.iso(start)
            ctx["slot_label"] = clock.show_time(start)
            ctx["idempotency_key"] = (form or {}).get("idempotency_key") or uuid.uuid4().hex
    return render("new.html", openid, **ctx)


def _slots(branch_id: str, code: str, day: str | None, ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """Open slots of the chosen date; a closed or out-of-range date is said on the page."""
    if not day:
        return []
    try:
        return actions.slots(branch_id, code, day)["slots"]
    except ApiError as error:
        ctx["error"] = ctx.get("error") or error
        return []


def _is_instant(value: str) -> bool:
    try:
        clock.parse_utc(value)
    except ValueError:
        return False
    return True


def index(openid: str, where: dict[str, str]) -> str:
    """The branches to book: the nearest first (to the page's geolocation, `where`, or the
    customer's last location), then the others under their district. A link that chose the
    service (`service`, e.g. wealth's in-branch assessment) lists the branches listing it and
    carries it to the next step."""
    v = Validator()
    point = service.parse_point(where.get("lat"), where.get("lng"), v)
    chosen = where.get("service")  # none is fine; an unknown one is refused by field
    code = service.check_service(chosen, v) if chosen is not None else None
    v.check()
    found = [b for b in actions.bookable_branches(openid, point) if code is None or service.lists(b, code)]
    near = [{**b, "distance": branches.show_distance(b["distance_m"])} for b in found if "distance_m" in b]
    rest = [b for b in found if "distance_m" not in b]
    return render("index.html", openid, near=near, rest=rest, located=bool(near), service=code,
                  service_name=service.SERVICES.get(code or ""))


def mine(openid: str) -> str:
    now = clock.now()
    return render("mine.html", openid, bookings=[actions.describe(b, now) for b in actions.mine(openid)])


def detail(openid: str, booking_id: str, notice: str | None = None, confirm_cancel: bool = False) -> str:
    """One booking; `confirm_cancel` asks whether to cancel it before the form that does."""
    booking = actions.owned(openid, booking_id)
    return render("booking.html", openid, booking=actions.describe(booking), notice=notice,
                  confirm_cancel=confirm_cancel,
                  reminder=_reminder(booking) if notice in ("created", "rescheduled") else None)


def _reminder(booking: store.Booking) -> str | None:
    """When the reminder of a booking just made or moved will come (quiet hours hold it)."""
    settings = config.settings()
    at = service.reminder_at(booking.start, clock.now(), settings.notify_quiet_start, settings.notify_quiet_end)
    return clock.show_time(at) if at else None


def reschedule(openid: str, booking_id: str, day_text: str | None, error: ApiError | None = None) -> str:
    booking = actions.owned(openid, booking_id)
    days = dates(actions.place(booking.branch_id, booking.service), booking.service)
    day = day_text or _first_open(days)
    ctx: dict[str, Any] = {"error": error}
    found = [s for s in _slots(booking.branch_id, booking.service, day, ctx) if s["start"] != booking.slot_start]
    return render("reschedule.html", openid, booking=actions.describe(booking), dates=days, date=day,
                  slots=found, error=ctx["error"])

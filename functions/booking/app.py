"""booking: Chalice glue. Routes parse input, call actions and shape the answer.

Pages: /booking (branches) → /booking/new (service, date, slot, contact) → /booking/b/{id};
/booking/mine; reschedule and cancel forms. JSON: /booking/api/...; staff: /booking/staff/...
"""
from functions.booking import actions, screens
from functions.common import http, staff, urls
from functions.common.errors import ApiError
from functions.common.http import TEXT, Field

app = http.FeatureApp(app_name="booking")
FORM = ["application/x-www-form-urlencoded", "application/json"]
# What each operation takes (the types and sizes; the rules are the service's)
SLOT = {"branch_id": Field(64), "service": Field(64), "date": Field(32), "slot_start": Field(64)}
BOOKING = {**SLOT, "name": TEXT, "mobile": Field(64), "note": TEXT, "idempotency_key": Field(100)}
# the branch picker: the page's geolocation, and a service chosen by the link that led here
PICKER = {"lat": Field(32), "lng": Field(32), "service": Field(64)}
NOTICE = {"notice": Field(32), "confirm": Field(16)}
DAY = {"date": Field(32)}
RESCHEDULE = {**DAY, "slot_start": Field(64)}
OUTCOME = {"status": Field(32)}


@app.route("/booking/health")
def health():
    return {"status": "ok"}


# ----- pages -------------------------------------------------------------------------------

@app.route("/booking")
def index_page():
    request = app.current_request
    return http.html_response(screens.index(http.customer(request), http.query(request, PICKER)))


@app.route("/booking/new")
def new_page():
    return http.html_response(screens.wizard(http.customer(app.current_request), http.query(app.current_request, SLOT)))


@app.route("/booking/new", methods=["POST"], content_types=FORM)
def new_submit():
    openid, form = http.customer_post(app.current_request, BOOKING)
    try:
        booking = actions.create(openid, form)
    except ApiError as error:
        if error.status >= 500 or error.code == "unknown_branch":
            raise
        return http.html_response(screens.wizard(openid, form, error, form), error.status)
    return http.redirect(urls.link(f"/booking/b/{booking.id}", notice="created"))


@app.route("/booking/mine")
def mine_page():
    return http.html_response(screens.mine(http.customer(app.current_request)))


@app.route("/booking/b/{booking_id}")
def booking_page(booking_id):
    request = app.current_request
    asked = http.query(request, NOTICE)
    return http.html_response(screens.detail(http.customer(request), booking_id, asked.get("notice"),
                                             confirm_cancel=asked.get("confirm") == "cancel"))


@app.route("/booking/b/{booking_id}/cancel", methods=["POST"], content_types=FORM)
def cancel_submit(booking_id):
    openid, _ = http.customer_post(app.current_request, {})
    actions.cancel(openid, booking_id)
    return http.redirect(urls.link(f"/booking/b/{booking_id}", notice="cancelled"))


@app.route("/booking/b/{booking_id}/reschedule")
def reschedule_page(booking_id):
    request = app.current_request
    day = http.query(request, DAY).get("date")
    return http.html_response(screens.reschedule(http.customer(request), booking_id, day))


@app.route("/booking/b/{booking_id}/reschedule", methods=["POST"], content_types=FORM)
def reschedule_submit(booking_id):
    openid, form = http.customer_post(app.current_request, RESCHEDULE)
    try:
        actions.reschedule(openid, booking_id, form.get("slot_start"))
    except ApiError as error:
        if error.status in (404,) or error.status >= 500:
            raise
        return http.html_response(screens.reschedule(openid, booking_id, form.get("date"), error), error.status)
    return http.redirect(urls.link(f"/booking/b/{booking_id}", notice="rescheduled"))


# ----- customer JSON -----------------------------------------------------------------------

@app.route("/booking/api/branches")
def api_branches():
    openid = http.customer(app.current_request)
    found = actions.bookable_branches(openid)
    return {"branches": [{"id": b["id"], "name": b["name"], "address": b.get("address", ""),
                          "distance_m": b.get("distance_m")} for b in found]}


@app.route("/booking/api/slots")
def api_slots():
    http.customer(app.current_request)
    q = http.query(app.current_request, SLOT)
    return actions.slots(q.get("branch_id", ""), q.get("service"), q.get("date"))


@app.route("/booking/api/bookings")
def api_mine():
    openid = http.customer(app.current_request)
    return {"bookings": [actions.describe(b) for b in actions.mine(openid)]}


@app.route("/booking/api/bookings", methods=["POST"], content_types=FORM)
def api_create():
    openid, form = http.customer_post(app.current_request, BOOKING)
    form.setdefault("idempotency_key", app.current_request.headers.get("idempotency-key"))
    return http.json_response({"booking": actions.describe(actions.create(openid, form))}, 201)


@app.route("/booking/api/bookings/{booking_id}")
def api_booking(booking_id):
    openid = http.customer(app.current_request)
    return {"booking": actions.describe(actions.owned(openid, booking_id))}


@app.route("/booking/api/bookings/{booking_id}/cancel", methods=["POST"], content_types=FORM)
def api_cancel(booking_id):
    openid, _ = http.customer_post(app.current_request, {})
    return {"booking": actions.describe(actions.cancel(openid, booking_id))}


@app.route("/booking/api/bookings/{booking_id}/reschedule", methods=["POST"], content_types=FORM)
def api_reschedule(booking_id):
    openid, form = http.customer_post(app.current_request, RESCHEDULE)
    return {"booking": actions.describe(actions.reschedule(openid, booking_id, form.get("slot_start")))}


# ----- staff -------------------------------------------------------------------------------

@app.route("/booking/staff/branches/{branch_id}/bookings")
def staff_day(branch_id):
    member = http.require_staff(app.current_request, staff.CUSTOMER_MANAGER)
    found = actions.day_list(member, branch_id, http.query(app.current_request, DAY).get("date"))
    return {"branch_id": branch_id, "bookings": [actions.describe(b) for b in found]}


@app.route("/booking/staff/bookings/{booking_id}/outcome", methods=["POST"], content_types=["application/json"])
def staff_outcome(booking_id):
    member = http.require_staff(app.current_request, staff.CUSTOMER_MANAGER)
    status = http.parse(app.current_request, OUTCOME).get("status")
    return {"booking": actions.describe(actions.mark(member, booking_id, status))}


# ----- schedule ----------------------------------------------------------------------------

@app.lambda_function(name="reminders")
def reminders(event, context):
    """18:00 Asia/Shanghai: a reminder event for each of tomorrow's bookings."""
    return {"sent": actions.send_reminders()}

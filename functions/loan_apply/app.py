"""loan_apply: Chalice glue. Routes parse input, call an action and shape the answer.

Pages: /loans/apply (the form) → /loans/mine/{id}; /loans/mine. JSON: /loans/api/...;
back office: /loans/staff/...
"""
from functions.common import http, staff, urls
from functions.common.errors import ApiError
from functions.common.http import TEXT, Field
from functions.loan_apply import actions, catalogue, screens, service

app = http.FeatureApp(app_name="loan_apply")
API_BODY = ["application/json", "application/x-www-form-urlencoded"]
FORM_BODY = ["application/x-www-form-urlencoded"]
# What each operation takes (the types and sizes; the rules are the service's)
YUAN = Field(32, number=True)
APPLICATION = {"product": Field(64), "name": TEXT, "id_number": Field(64), "phone": Field(64), "amount": YUAN,
               "term": YUAN, "purpose": Field(64), "city": TEXT, "monthly_income": YUAN,
               "employment_type": Field(64), "consent": Field(16, flag=True), "consent_version": Field(64),
               "idempotency_key": Field(100)}
PRODUCT = {"product": Field(64)}
SUBMITTED = {"submitted": Field(8)}
REASON = {"reason": TEXT}
TRANSITION = {"to": Field(32), **REASON}
RECOMMENDATION = {"recommendation": Field(32), "note": TEXT}
READ = {"reason": Field(32)}
QUEUE = {"status": Field(32), "product": Field(64), "from": Field(32), "to": Field(32), "limit": Field(16),
         "cursor": TEXT}


@app.route("/loans/health")
def health():
    return {"status": "ok"}


# ---- H5 pages --------------------------------------------------------------------------------

@app.route("/loans/apply", methods=["GET"])
def apply_page():
    request = app.current_request
    product = http.query(request, PRODUCT).get("product", "")
    return http.html_response(screens.blank_form(http.customer(request), product))


@app.route("/loans/apply", methods=["POST"], content_types=FORM_BODY)
def apply_submit():
    openid, form = http.customer_post(app.current_request, APPLICATION)
    try:
        result = actions.submit(openid, form, form.get("idempotency_key"))
    except ApiError as failed:
        if not failed.fields:  # a refusal of the whole request: the error page
            raise
        errors = {f.field: f.message for f in failed.fields}
        return http.html_response(screens.apply_form(openid, form, errors), failed.status)
    return http.redirect(urls.link(f"/loans/mine/{result['application']['application_id']}", submitted=1))


@app.route("/loans/mine", methods=["GET"])
def mine_page():
    return http.html_response(screens.mine(http.customer(app.current_request)))


@app.route("/loans/mine/{application_id}", methods=["GET"])
def detail_page(application_id):
    request = app.current_request
    submitted = http.query(request, SUBMITTED).get("submitted") == "1"
    return http.html_response(screens.detail(http.customer(request), application_id, submitted))


@app.route("/loans/mine/{application_id}/withdraw", methods=["POST"], content_types=FORM_BODY)
def withdraw_page(application_id):
    openid, form = http.customer_post(app.current_request, REASON)
    actions.withdraw(openid, application_id, form.get("reason"))
    return http.redirect(urls.link(f"/loans/mine/{application_id}"))


# ---- customer JSON ---------------------------------------------------------------------------

@app.route("/loans/api/products", methods=["GET"])
def products_api():
    return http.json_response(catalogue.load().published())


@app.route("/loans/api/applications", methods=["POST"], content_types=API_BODY)
def submit_api():
    request = app.current_request
    openid, body = http.customer_post(request, APPLICATION)
    key = request.headers.get("idempotency-key") or body.get("idempotency_key")
    result = actions.submit(openid, body, key)
    return http.json_response(result, 200 if result["replayed"] else 201)


@app.route("/loans/api/applications", methods=["GET"])
def mine_api():
    return http.json_response({"items": actions.mine(http.customer(app.current_request))})


@app.route("/loans/api/applications/{application_id}", methods=["GET"])
def one_api(application_id):
    return http.json_response(actions.one_of_mine(http.customer(app.current_request), application_id))


@app.route("/loans/api/applications/{application_id}/withdraw", methods=["POST"], content_types=API_BODY)
def withdraw_api(application_id):
    openid, body = http.customer_post(app.current_request, REASON)
    return http.json_response(actions.withdraw(openid, application_id, body.get("reason")))


# ---- back office -----------------------------------------------------------------------------

@app.route("/loans/staff/applications", methods=["GET"])
def queue_api():
    http.require_staff(app.current_request, staff.LOAN_REVIEWER, staff.LOAN_APPROVER)
    return http.json_response(actions.staff_queue(http.query(app.current_request, QUEUE)))


@app.route("/loans/staff/applications/{application_id}/summary", methods=["GET"])
def staff_summary_api(application_id):
    http.require_staff(app.current_request, staff.LOAN_REVIEWER, staff.LOAN_APPROVER)
    return http.json_response(actions.staff_summary(application_id))


@app.route("/loans/staff/applications/{application_id}", methods=["GET"])
def staff_read_api(application_id):
    request = app.current_request
    member = http.require_staff(request, staff.LOAN_REVIEWER)
    return http.json_response(actions.staff_read(member, application_id, http.query(request, READ).get("reason")))


@app.route("/loans/staff/applications/{application_id}/transition", methods=["POST"], content_types=API_BODY)
def transition_api(application_id):
    request = app.current_request
    body = http.parse(request, TRANSITION)
    member = http.require_staff(request, service.staff_role(body.get("to", "")))
    return http.json_response(actions.staff_transition(member, application_id, body.get("to", ""),
                                                       body.get("reason")))


@app.route("/loans/staff/applications/{application_id}/recommendation", methods=["POST"], content_types=API_BODY)
def recommendation_api(application_id):
    request = app.current_request
    body = http.parse(request, RECOMMENDATION)
    member = http.require_staff(request, staff.LOAN_REVIEWER)
    return http.json_response(actions.recommend(member, application_id, body.get("recommendation"), body.get("note")))

"""loan_apply: Chalice glue. Routes parse input, call the service and shape the answer."""
from pathlib import Path

from functions.common import config, http, intents, pages, session
from functions.common.errors import ApiError
from functions.common.intents import Intent, Reply
from functions.loan_apply import catalogue, prescreen, service

app = http.FeatureApp(app_name="loan_apply")
PAGES = Path(__file__).parent / "pages"
API_BODY = ["application/json", "application/x-www-form-urlencoded"]
FORM_BODY = ["application/x-www-form-urlencoded"]


def _url(path: str) -> str:
    return f"{config.settings().public_base_url}{path}"


def _page(template: str, openid: str, status_code: int = 200, **context):
    html = pages.render(PAGES, template, csrf_token=session.csrf_token(openid), catalogue=catalogue.load(),
                        disclaimer=prescreen.DISCLAIMER, **context)
    return http.html_response(html, status_code)


@app.route("/loans/health")
def health():
    return {"status": "ok"}


# ---- H5 pages --------------------------------------------------------------------------------


def _form_page(openid: str, values: dict, errors: dict, status_code: int = 200):
    import secrets

    values = {"idempotency_key": secrets.token_urlsafe(18), **values}
    products = {code: p.public() for code, p in catalogue.load().products.items()}
    return _page("apply.html", openid, status_code, values=values, errors=errors, products=products)


@app.route("/loans/apply", methods=["GET"])
def apply_page():
    request = app.current_request
    openid = http.customer(request)
    product = (request.query_params or {}).get("product", "")
    return _form_page(openid, {"product": product if catalogue.load().product(product) else ""}, {})


@app.route("/loans/apply", methods=["POST"], content_types=FORM_BODY)
def apply_submit():
    openid, form = http.customer_post(app.current_request)
    try:
        result = service.submit(openid, form, form.get("idempotency_key"))
    except ApiError as failed:
        if not failed.fields:  # a refusal of the whole request: the error page
            raise
        errors = {f.field: f.message for f in failed.fields}
        return _form_page(openid, form, errors, failed.status)
    return http.redirect(f"/loans/mine/{result['application']['application_id']}?submitted=1")


@app.route("/loans/mine", methods=["GET"])
def mine_page():
    openid = http.customer(app.current_request)
    return _page("mine.html", openid, applications=service.mine(openid))


@app.route("/loans/mine/{application_id}", methods=["GET"])
def detail_page(application_id):
    request = app.current_request
    openid = http.customer(request)
    submitted = (request.query_params or {}).get("submitted") == "1"
    return _page("detail.html", openid, application=service.one_of_mine(openid, application_id), submitted=submitted)


@app.route("/loans/mine/{application_id}/withdraw", methods=["POST"], content_types=FORM_BODY)
def withdraw_page(application_id):
    openid, form = http.customer_post(app.current_request)
    service.withdraw(openid, application_id, form.get("reason"))
    return http.redirect(f"/loans/mine/{application_id}")


# ---- customer JSON ---------------------------------------------------------------------------


@app.route("/loans/api/products", methods=["GET"])
def products_api():
    cat = catalogue.load()
    return http.json_response({
        "products": [p.public() for p in cat.products.values()],
        "employment_types": cat.employment_types,
        "consent": {"version": cat.consent_version, "title": cat.consent_title, "text": cat.consent_text},
    })


@app.route("/loans/api/applications", methods=["POST"], content_types=API_BODY)
def submit_api():
    request = app.current_request
    openid, body = http.customer_post(request, flat=True)
    key = request.headers.get("idempotency-key") or body.get("idempotency_key")
    result = service.submit(openid, body, key)
    return http.json_response(result, 200 if result["replayed"] else 201)


@app.route("/loans/api/applications", methods=["GET"])
def mine_api():
    return http.json_response({"items": service.mine(http.customer(app.current_request))})


@app.route("/loans/api/applications/{application_id}", methods=["GET"])
def one_api(application_id):
    return http.json_response(service.one_of_mine(http.customer(app.current_request), application_id))


@app.route("/loans/api/applications/{application_id}/withdraw", methods=["POST"], content_types=API_BODY)
def withdraw_api(application_id):
    openid, body = http.customer_post(app.current_request)
    return http.json_response(service.withdraw(openid, application_id, body.get("reason")))


# ---- back office -----------------------------------------------------------------------------


@app.route("/loans/staff/applications", methods=["GET"])
def queue_api():
    request = app.current_request
    http.require_staff(request)
    return http.json_response(service.staff_queue(dict(request.query_params or {})))


@app.route("/loans/staff/applications/{application_id}", methods=["GET"])
def staff_read_api(application_id):
    staff = http.require_staff(app.current_request)
    return http.json_response(service.staff_read(staff, application_id))


@app.route("/loans/staff/applications/{application_id}/transition", methods=["POST"], content_types=API_BODY)
def transition_api(application_id):
    request = app.current_request
    staff = http.require_staff(request)
    body = http.body(request)
    return http.json_response(service.staff_transition(staff, application_id, str(body.get("to") or ""),
                                                       body.get("reason")))


# ---- WeChat ----------------------------------------------------------------------------------


def _my_applications_text(openid: str) -> str:
    items = service.mine(openid)[:5]
    link = f'<a href="{_url("/loans/mine")}">查看全部</a>'
    if not items:
        return f'您还没有贷款或信用卡申请。<a href="{_url("/loans/apply")}">立即申请</a>'
    lines = [f"{a['product_name']} {a['amount']} {a['status_label']}（{a['created_at_local'][:10]}）" for a in items]
    return "您的申请：\n" + "\n".join(lines) + "\n" + link


def answer(intent: Intent) -> Reply:
    """loan.mine, card.apply and loan.apply; any other intent is not loan_apply's."""
    if intent.name == intents.LOAN_MINE:
        return Reply.say(_my_applications_text(intent.openid))
    if intent.name == intents.CARD_APPLY:
        return Reply.news("信用卡在线申请", "额度五千至十万元，填写约3分钟，提交即看预审结果",
                          _url("/loans/apply?product=credit_card"))
    if intent.name == intents.LOAN_APPLY:
        return Reply.news("贷款在线申请", "个人消费、小微经营、住房贷款，提交即看预审结果", _url("/loans/apply"))
    return Reply.nothing()


intent = app.lambda_function(name="intent")(intents.handler(answer))

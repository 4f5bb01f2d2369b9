"""products: Chalice glue. Routes parse input, call actions and shape the answer.

Pages (anyone): /products (the catalogue, filtered by risk level and term) →
/products/p/{code} (a product, its documents, its net value chart). The customer's, before a
first purchase: /products/assessment (the risk-tolerance questionnaire) and
/products/agreement (the mobile wealth-management agreement); then /products/p/{code}/buy (the
purchase form: a bound debit card, the amount, the risk disclosure, a step-up code texted by
notify through /products/api/purchase-codes); 我的理财 /products/mine (holdings, orders,
redemption of open-ended products) → /products/orders/{order_id} (an order, its steps;
cancelling). JSON: /products/api/... The nightly schedule publishes the day's imported net
values; the customer-events queue keeps the cards customers bind in notify in products' own
projection; core banking's answers arrive on products-order-results.
"""
import json
from collections.abc import Callable
from typing import TypeVar

from functions.common import deadletter, events, http, urls
from functions.common.errors import ApiError
from functions.common.http import Field
from functions.common.log import get_logger
from functions.products import actions, screens, service, suitability

T = TypeVar("T")
app = http.FeatureApp(app_name="products")
logger = get_logger()
FORM = ["application/x-www-form-urlencoded", "application/json"]
FILTERS = {"risk": Field(8), "term": Field(16)}
NOTICE = {"notice": Field(32)}
ANSWERS = {q.id: Field(2) for q in suitability.QUESTIONNAIRE.questions}
ACCEPTANCE = {"version": Field(20), "sha256": Field(64), "agree": Field(8, flag=True)}
REDEMPTION = {"units": Field(20, number=True), "idempotency_key": Field(64)}
PURCHASE = {"card_ref": Field(64), "amount": Field(32, number=True), "disclosure": Field(8, flag=True),
            "code": Field(16), "idempotency_key": Field(64)}
CODE_REQUEST = {"product": Field(20), "card_ref": Field(64)}


@app.route("/products/health")
def health():
    return {"status": "ok"}


# ----- pages -------------------------------------------------------------------------------

@app.route("/products")
def catalogue_page():
    return http.html_response(screens.catalogue(http.query(app.current_request, FILTERS)))


@app.route("/products/p/{code}")
def product_page(code):
    found = http.signed_in(app.current_request)
    return http.html_response(screens.product(code, found.openid if found else None))


@app.route("/products/p/{code}/documents/{kind}")
def document_page(code, kind):
    return http.html_response(screens.document(code, kind))


@app.route("/products/assessment")
def assessment_page():
    request = app.current_request
    return http.html_response(screens.assessment(http.customer(request), http.query(request, NOTICE).get("notice")))


def submitted(act: Callable[[], T], again: Callable[[ApiError], str], path: str | Callable[[T], str],
              notice: str | None = None):
    """A page's form done: on to `path` (or the path of what it made) with `notice`; refused:
    the page `again` with the error (an outage is the error page)."""
    try:
        done = act()
    except ApiError as error:
        if error.status >= 500:
            raise
        return http.html_response(again(error), error.status)
    return http.redirect(urls.link(path(done) if callable(path) else path, notice=notice))


@app.route("/products/assessment", methods=["POST"], content_types=FORM)
def assessment_submit():
    openid, answers = http.customer_post(app.current_request, ANSWERS)
    return submitted(lambda: actions.assess(openid, answers),
                     lambda error: screens.assessment(openid, error=error, answers=answers),
                     "/products/assessment", "assessed")


@app.route("/products/agreement")
def agreement_page():
    request = app.current_request
    return http.html_response(screens.agreement(http.customer(request), http.query(request, NOTICE).get("notice")))


@app.route("/products/agreement", methods=["POST"], content_types=FORM)
def agreement_submit():
    request = app.current_request
    openid, form = http.customer_post(request, ACCEPTANCE)
    return submitted(lambda: actions.accept(openid, form, *http.origin(request)),
                     lambda error: screens.agreement(openid, error=error), "/products/agreement", "accepted")


@app.route("/products/mine")
def mine_page():
    request = app.current_request
    return http.html_response(screens.mine(http.customer(request), http.query(request, NOTICE).get("notice")))


@app.route("/products/orders/{order_id}")
def order_page(order_id):
    request = app.current_request
    return http.html_response(screens.order(http.customer(request), order_id,
                                            http.query(request, NOTICE).get("notice")))


@app.route("/products/orders/{order_id}/cancel", methods=["POST"], content_types=FORM)
def order_cancel(order_id):
    openid, _ = http.customer_post(app.current_request, {})
    return submitted(lambda: actions.cancel_order(openid, order_id),
                     lambda error: screens.order(openid, order_id, error=error),
                     f"/products/orders/{order_id}", "cancelled")


@app.route("/products/holdings/{code}/redeem", methods=["POST"], content_types=FORM)
def holding_redeem(code):
    openid, form = http.customer_post(app.current_request, REDEMPTION)
    return submitted(lambda: actions.redeem(openid, code, service.parse_units(form.get("units")) or 0,
                                            form.get("idempotency_key", "")),
                     lambda error: screens.mine(openid, error=error),
                     lambda placed: f"/products/orders/{placed.order_id}", "redeeming")


# ----- purchase ----------------------------------------------------------------------------

@app.route("/products/p/{code}/buy")
def purchase_page(code):
    return http.html_response(screens.purchase(code, http.customer(app.current_request)))


@app.route("/products/p/{code}/buy", methods=["POST"], content_types=FORM)
def purchase_submit(code):
    openid, form = http.customer_post(app.current_request, PURCHASE)
    return submitted(lambda: actions.confirm_purchase(openid, code, form),
                     lambda error: screens.purchase(code, openid, form=form, error=error),
                     lambda order: f"/products/orders/{order.order_id}")


@app.route("/products/api/purchase-codes", methods=["POST"])
def purchase_code():
    openid, form = http.customer_post(app.current_request, CODE_REQUEST)
    sent = actions.request_purchase_code(openid, form.get("product", ""), form.get("card_ref", ""))
    return http.json_response(sent, status=201)


# ----- JSON --------------------------------------------------------------------------------

@app.route("/products/api/products")
def api_catalogue():
    risk, term = service.filters(http.query(app.current_request, FILTERS))
    return {"products": [screens.describe(listed) for listed in actions.catalogue(risk, term)]}


@app.route("/products/api/products/{code}")
def api_product(code):
    listed, history = actions.product(code)
    return {"product": screens.describe(listed),
            "net_values": [{"date": v.day.isoformat(), "nav": service.show_nav(v.nav_e4)} for v in history]}


@app.route("/products/api/mine")
def api_mine():
    return screens.mine_model(http.customer(app.current_request))



# ----- queue and schedule ------------------------------------------------------------------

@app.lambda_function(name="customer_events")
def customer_events(event, context=None):
    """Cards bound and unbound, from products' queue of the customer-events topic (partial
    failures reported per record)."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=logger)
    return dict(process_partial_response(event=event, record_handler=card_event, processor=processor,
                                         context=context))


def card_event(record) -> bool:
    """One record: applied (or already applied), or parked in the queue's dead-letter queue
    at once with the reason when it breaks the contract."""
    try:
        event = events.validate(json.loads(record.body), events.CUSTOMER_SCHEMAS)
    except (ValueError, events.InvalidEvent) as error:
        reason = str(error) if isinstance(error, events.InvalidEvent) else f"not JSON: {error}"
        deadletter.send(deadletter.queue_url_of(record.event_source_arn), record.body, reason, record.message_id)
        return False
    return actions.apply_card_event(event)


@app.lambda_function(name="net_values")
def net_values(event, context):
    """22:00 Asia/Shanghai: the day's imported net values become the products' last ones."""
    return {"published": actions.publish_net_values()}


# ----- queue -------------------------------------------------------------------------------

@app.lambda_function(name="order_results")
def order_results(event, context):
    """Core banking's answers to orders (partial failures reported per record)."""
    from functions.products import results  # Powertools' batch utility: this handler's alone

    return results.handle_batch(event, context)

"""notify: Chalice glue. Routes parse input, call an action and shape the answer; the queue
and schedule handlers are plain Lambda handlers, and the queue's consumer is loaded on its
first batch (the pages and the API do not need it).

Pages: /notify/bind, /notify/bills, /notify/messages. JSON: /notify/api/...
"""
from __future__ import annotations

from functions.common import http
from functions.common.http import Field
from functions.notify import actions, screens

app = http.FeatureApp(app_name="notify")
# What each operation takes (the types and sizes; the rules are the service's)
CARD = {"card_number": Field(64), "phone": Field(64)}
CODE = {"code": Field(16)}


@app.route("/notify/health")
def health():
    return {"status": "ok"}


# ----- pages -------------------------------------------------------------------------------

@app.route("/notify/bind")
def bind_page():
    return http.html_response(screens.bind(http.customer(app.current_request)))


@app.route("/notify/bills")
def bills_page():
    return http.html_response(screens.bills(http.customer(app.current_request)))


@app.route("/notify/messages")
def messages_page():
    return http.html_response(screens.messages(http.customer(app.current_request)))


# ----- customer JSON -----------------------------------------------------------------------

@app.route("/notify/api/bindings")
def list_bindings():
    return http.json_response({"bindings": actions.bindings(http.customer(app.current_request))})


@app.route("/notify/api/otp", methods=["POST"])
def request_code():
    openid, form = http.customer_post(app.current_request, CARD)
    return http.json_response(actions.request_code(openid, form.get("card_number", ""), form.get("phone", "")))


@app.route("/notify/api/bindings", methods=["POST"])
def confirm_binding():
    openid, form = http.customer_post(app.current_request, CODE)
    return http.json_response({"binding": actions.confirm(openid, form.get("code", ""))}, status=201)


@app.route("/notify/api/bindings/{binding_id}", methods=["DELETE"])
def remove_binding(binding_id: str):
    request = app.current_request
    openid = http.customer(request)
    http.require_csrf(request, openid)
    actions.unbind(openid, binding_id)
    return http.json_response({"removed": binding_id})


@app.route("/notify/api/messages")
def list_messages():
    return http.json_response({"messages": actions.messages(http.customer(app.current_request))})


@app.route("/notify/api/bills")
def list_bills():
    return http.json_response({"cards": actions.bills(http.customer(app.current_request))})


# ----- queue and schedules -----------------------------------------------------------------

@app.lambda_function(name="events")
def events(event, context=None):
    """The notify queue's batches (partial failures reported per record)."""
    from functions.notify import consumer

    return consumer.handle_batch(event, context)


@app.lambda_function(name="bills")
def bills(event, context=None):
    """10:00 Asia/Shanghai: bill reminders."""
    return actions.send_bill_reminders()


@app.lambda_function(name="pending")
def pending(event, context=None):
    """Every few minutes: the messages whose wait is over."""
    return actions.flush_pending()

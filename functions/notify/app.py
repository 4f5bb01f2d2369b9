"""notify: Chalice glue. Routes parse input, call the service and shape the answer; the
queue and schedule handlers load their modules on first call (the API does not need them)."""
from __future__ import annotations

from pathlib import Path

from functions.common import config, http, intents, pages, session
from functions.common.intents import Intent, Reply
from functions.notify import binding, inbox, service, store

app = http.FeatureApp(app_name="notify")
PAGES = Path(__file__).parent / "pages"


def _page(template: str, openid: str, **context):
    return http.html_response(pages.render(PAGES, template, csrf_token=session.csrf_token(openid), **context))


def _url(path: str) -> str:
    return config.settings().public_base_url + path


@app.route("/notify/health")
def health():
    return {"status": "ok"}


@app.route("/notify/bind")
def bind_page():
    openid = http.customer(app.current_request)
    return _page("bind.html", openid, bindings=binding.bindings(openid))


@app.route("/notify/bills")
def bills_page():
    openid = http.customer(app.current_request)
    return _page("bills.html", openid, rows=inbox.bills(openid))


@app.route("/notify/messages")
def messages_page():
    openid = http.customer(app.current_request)
    return _page("messages.html", openid, messages=inbox.messages(openid), days=inbox.HISTORY_DAYS)


@app.route("/notify/api/bindings")
def list_bindings():
    return http.json_response({"bindings": binding.bindings(http.customer(app.current_request))})


@app.route("/notify/api/otp", methods=["POST"])
def request_code():
    openid, form = http.customer_post(app.current_request)
    return http.json_response(binding.request_code(openid, form.get("card_number", ""), form.get("phone", "")))


@app.route("/notify/api/bindings", methods=["POST"])
def confirm_binding():
    openid, form = http.customer_post(app.current_request)
    return http.json_response({"binding": binding.confirm(openid, form.get("code", ""))}, status=201)


@app.route("/notify/api/bindings/{binding_id}", methods=["DELETE"])
def remove_binding(binding_id: str):
    request = app.current_request
    openid = http.customer(request)
    http.require_csrf(request, openid)
    binding.unbind(openid, binding_id)
    return http.json_response({"removed": binding_id})


@app.route("/notify/api/messages")
def list_messages():
    return http.json_response({"messages": inbox.messages(http.customer(app.current_request))})


@app.route("/notify/api/bills")
def list_bills():
    return http.json_response({"cards": inbox.bills(http.customer(app.current_request))})


def answer(intent: Intent) -> Reply:
    """card.bind, bills.show and messages.show; unsubscribe silences the openid's bindings
    and ends its sessions; delivery reports settle a template message's final status."""
    if intent.kind == "unsubscribe":
        store.deactivate_all(intent.openid)
        session.end_all(intent.openid)
        return Reply.nothing()
    if intent.kind == "delivery_report":
        if service.is_delivery_report(intent.template_msg_id, intent.status):
            store.report(intent.template_msg_id, intent.status, intent.openid)
        return Reply.nothing()
    if intent.name == intents.CARD_BIND:
        return Reply.news("绑定银行卡", "绑定后，交易提醒和账单将通过微信及时送达。", _url("/notify/bind"))
    if intent.name == intents.BILLS_SHOW:
        rows = inbox.bills(intent.openid)
        if not rows:
            return Reply.say(f"您还没有绑定银行卡。<a href=\"{_url('/notify/bind')}\">点此绑定</a>后即可查询账单。")
        return Reply.say(inbox.bills_text(rows) + f"\n<a href=\"{_url('/notify/bills')}\">查看账单详情</a>")
    if intent.name == intents.MESSAGES_SHOW:
        recent = inbox.messages(intent.openid)
        if not recent:
            return Reply.say(f"近{inbox.HISTORY_DAYS}天没有消息。")
        lines = [f"{m['time']} {m['title']}：{m['summary']}" for m in recent[:5]]
        return Reply.say(f"近{inbox.HISTORY_DAYS}天共{len(recent)}条消息：\n" + "\n".join(lines)
                         + f"\n<a href=\"{_url('/notify/messages')}\">查看全部</a>")
    return Reply.nothing()


intent = app.lambda_function(name="intent")(intents.handler(answer))


def _events(event, context=None):
    from functions.notify import consumer

    return consumer.handle_batch(event, context)


def _bills(event, context=None):
    from functions.notify import schedules

    return schedules.bill_reminders()


def _pending(event, context=None):
    from functions.notify import schedules

    return schedules.flush_pending()


events = app.lambda_function(name="events")(_events)
bills = app.lambda_function(name="bills")(_bills)
pending = app.lambda_function(name="pending")(_pending)

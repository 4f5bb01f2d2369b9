"""What notify answers in the WeChat chat (card.bind, bills.show, messages.show), and what it
does with the events the webhook passes on: an unfollow silences the openid's bindings and
ends its sessions, a delivery report settles a template message's final status."""
from __future__ import annotations

from typing import Any

from functions.common import intents, session, urls
from functions.common.intents import Intent, Reply
from functions.notify import actions, service, store


def bills_text(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        s = row["statement"]
        if s is None:
            lines.append(f"{row['card']}：暂无账单")
        elif s["paid"]:
            lines.append(f"{row['card']}：本期账单{s['amount_due']}已还清")
        else:
            lines.append(f"{row['card']}：本期应还{s['amount_due']}，最低还款{s['minimum_due']}，"
                         f"到期还款日{s['due_label']}")
    return "\n".join(lines)


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
        return Reply.news("绑定银行卡", "绑定后，交易提醒和账单将通过微信及时送达。", urls.absolute("/notify/bind"))
    if intent.name == intents.BILLS_SHOW:
        rows = actions.bills(intent.openid)
        if not rows:
            bind = urls.absolute("/notify/bind")
            return Reply.say(f"您还没有绑定银行卡。<a href=\"{bind}\">点此绑定</a>后即可查询账单。")
        return Reply.say(bills_text(rows) + f"\n<a href=\"{urls.absolute('/notify/bills')}\">查看账单详情</a>")
    if intent.name == intents.MESSAGES_SHOW:
        recent = actions.messages(intent.openid)
        if not recent:
            return Reply.say(f"近{actions.HISTORY_DAYS}天没有消息。")
        lines = [f"{m['time']} {m['title']}：{m['summary']}" for m in recent[:5]]
        return Reply.say(f"近{actions.HISTORY_DAYS}天共{len(recent)}条消息：\n" + "\n".join(lines)
                         + f"\n<a href=\"{urls.absolute('/notify/messages')}\">查看全部</a>")
    return Reply.nothing()


intent = intents.handler(answer)  # the feature's <feature>Intent function (serverless.yml)

"""What a customer reads back: the latest statement of each bound card, and the messages
sent to them in the last 30 days (the 账单 / 我的消息 replies and pages)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from functions.common import clock, pii
from functions.notify import store

HISTORY_DAYS = 30
STATUS_TEXT = {
    store.SENT: "已发送", store.CLAIMED: "发送中", store.RETRY: "待重试",
    store.UNREACHABLE: "未送达", store.REJECTED: "发送失败",
    store.UNCERTAIN: "发送中", store.UNCONFIRMED: "未确认",
    # TEMPLATESENDJOBFINISH statuses
    "success": "已送达", "failed:user block": "已拒收", "failed: system failed": "发送失败",
}


def bills(openid: str) -> list[dict[str, Any]]:
    """The latest statement of each card bound to `openid` (cards without one included)."""
    out = []
    for binding in store.bindings_of(openid):
        statement = store.latest_statement(binding.customer_id, binding.card_last4)
        row: dict[str, Any] = {"card": pii.mask_card(binding.card_last4), "active": binding.active, "statement": None}
        if statement is not None:
            row["statement"] = {
                "statement_id": statement.statement_id,
                "amount_due": clock.yuan(int(statement.amount_due_fen)),
                "minimum_due": clock.yuan(int(statement.minimum_due_fen)),
                "remaining": clock.yuan(statement.remaining_fen),
                "due_date": statement.due_date,
                "paid": statement.remaining_fen == 0,
            }
        out.append(row)
    return out


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
                         f"到期还款日{s['due_date']}")
    return "\n".join(lines)


def messages(openid: str) -> list[dict[str, Any]]:
    """WeChat messages to `openid` in the last 30 days, newest first."""
    since = clock.now() - timedelta(days=HISTORY_DAYS)
    out = []
    for item in store.inbox(openid, since):
        status = item.final_status or item.status
        out.append({
            "title": item.title or "",
            "summary": "，".join((item.values or {}).values()),
            "time": clock.show_time(item.created_at) if item.created_at else "",
            "status": STATUS_TEXT.get(status, "发送失败"),
            "url": item.url,
        })
    return out

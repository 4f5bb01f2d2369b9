"""What was sent to a user, as the simulator's outbox shows it: template and custom messages
from the fake WeChat API (over HTTP, its admin outbox) and the SMS to the user's phones from
SNS (moto runs in the stack's process, so its backend is read directly; SNS offers no API to
list sent SMS)."""
from __future__ import annotations

from typing import Any

import requests

TIMEOUT_S = 5.0


def wechat_messages(stack_url: str, openid: str) -> list[dict[str, Any]]:
    """Template and custom messages the fake WeChat API accepted for `openid`, oldest first."""
    res = requests.get(f"{stack_url}/_wechat/_admin/outbox", params={"openid": openid}, timeout=TIMEOUT_S)
    res.raise_for_status()
    return [_shape(m) for m in res.json()]


def _shape(message: dict[str, Any]) -> dict[str, Any]:
    payload = message.get("payload") or {}
    out = {
        "msgid": message.get("msgid"),
        "kind": message.get("kind"),
        "status": message.get("status", ""),
        "at": message.get("at"),
    }
    if message.get("kind") == "template":
        data = payload.get("data") or {}
        template_id = payload.get("template_id", "")
        template = registered().get(template_id)
        labels = template.keywords if template else {}
        out.update(
            template_id=template_id,
            title=template.title if template else "模板消息",
            url=payload.get("url") or "",
            fields=[{"key": k, "label": labels.get(k, k),
                     "value": (v or {}).get("value", "") if isinstance(v, dict) else str(v)}
                    for k, v in data.items()],
        )
    else:
        out["text"] = message.get("text") or ""
        if message.get("kind") == "news":
            out["articles"] = (payload.get("news") or {}).get("articles") or []
    return out


def registered() -> dict[str, Any]:
    """Template id → template, as the bank registered them with WeChat: their titles and
    keyword labels, which WeChat shows (notify's catalogue; the simulator has no template
    library to ask)."""
    try:
        from functions.notify.templates import TEMPLATES
    except ImportError:
        return {}
    return {t.template_id: t for t in TEMPLATES.values()}


def sms_messages() -> list[dict[str, str]]:
    """Every SMS SNS was asked to send in this process, oldest first."""
    from moto.sns.models import sns_backends

    out: list[dict[str, str]] = []
    for account in list(sns_backends.keys()):
        for region, backend in list(sns_backends[account].items()):
            for message_id, (phone, text) in list(backend.sms_messages.items()):
                out.append({"id": message_id, "phone": phone, "text": text, "region": region, "status": "已发送"})
    return out


def phones_of(openid: str) -> set[str]:
    """The mobile numbers (11 digits) on file for the cards `openid` has bound or is binding
    (a pending one-time code): where this user's SMS go. Read from notify's tables, as the
    operator's SMS gateway would know the phone."""
    from functions.notify import corebank, store

    customers = {b.customer_id for b in store.bindings_of(openid)}
    pending = store.get_otp(openid)
    if pending is not None:
        customers.add(pending.customer_id)
    return {phone[-11:] for phone in map(corebank.phone_of, customers) if phone}


def for_user(stack_url: str, openid: str) -> dict[str, Any]:
    """The user's outbox; SMS show the phone masked, as every page shows personal data."""
    from functions.common.pii import mask_phone

    messages = wechat_messages(stack_url, openid)
    phones = phones_of(openid)
    return {
        "templates": [m for m in messages if m["kind"] == "template"],
        "custom": [m for m in messages if m["kind"] != "template"],
        "sms": [{**m, "phone": mask_phone(m["phone"])} for m in sms_messages() if m["phone"][-11:] in phones],
    }

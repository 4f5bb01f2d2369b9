"""What notify's H5 pages show: the customer's bound cards (and the binding form), the
latest bill of each card, and the messages of the last 30 days."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from functions.common import config, pages, session
from functions.common.money import yuan
from functions.notify import actions, service

PAGES = Path(__file__).parent / "pages"


def render(template: str, openid: str, **context: Any) -> str:
    return pages.render(PAGES, template, csrf_token=session.csrf_token(openid), **context)


def bind(openid: str) -> str:
    """The bound cards and the form; what a newly bound card brings is said from the same
    policy that sends it (SMS threshold, quiet hours)."""
    policy = service.Policy.from_settings(config.settings())
    return render("bind.html", openid, bindings=actions.bindings(openid), sms_min=yuan(policy.sms_min_fen),
                  quiet_start=policy.quiet_start.isoformat("minutes"), quiet_end=policy.quiet_end.isoformat("minutes"))


def bills(openid: str) -> str:
    return render("bills.html", openid, rows=actions.bills(openid))


def messages(openid: str) -> str:
    return render("messages.html", openid, messages=actions.messages(openid), days=actions.HISTORY_DAYS)

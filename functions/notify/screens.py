"""What notify's H5 pages show: the customer's bound cards (and the binding form), the
latest bill of each card, and the messages of the last 30 days."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from functions.common import pages, session
from functions.notify import actions

PAGES = Path(__file__).parent / "pages"


def render(template: str, openid: str, **context: Any) -> str:
    return pages.render(PAGES, template, csrf_token=session.csrf_token(openid), **context)


def bind(openid: str) -> str:
    return render("bind.html", openid, bindings=actions.bindings(openid))


def bills(openid: str) -> str:
    return render("bills.html", openid, rows=actions.bills(openid))


def messages(openid: str) -> str:
    return render("messages.html", openid, messages=actions.messages(openid), days=actions.HISTORY_DAYS)

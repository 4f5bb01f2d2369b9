"""What the console's shell page carries: where to sign in and where each feature's staff
JSON is, under whatever stage or base path the request came with."""
from __future__ import annotations

from pathlib import Path

from functions.common import config, pages, staff, urls
from functions.common.errors import ServiceUnavailable
from functions.console.actions import CALLBACK

PAGES = Path(__file__).parent / "pages"


def shell() -> str:
    issuer = config.settings().staff_issuer()
    try:
        authorize = staff.endpoint(issuer, "authorization_endpoint")
    except (staff.IssuerUnavailable, staff.InvalidToken):
        raise ServiceUnavailable("统一身份认证暂不可用，请稍后再试") from None
    setup = {
        "authorize_url": authorize, "client_id": issuer.audience, "redirect_uri": urls.absolute(CALLBACK),
        "token": urls.link("/console/api/token"), "bookings": urls.link("/booking/staff"),
        "loans": urls.link("/loans/staff"), "audit": urls.link("/audit/staff"), "reasons": staff.READ_REASONS,
    }
    return pages.render(PAGES, "console.html", setup=setup)

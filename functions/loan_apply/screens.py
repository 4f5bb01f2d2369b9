"""What the H5 pages show: the application form (with the catalogue and any field errors),
the applicant's list and one application with its history. Builds template contexts from
actions; the catalogue and the pre-screen's disclaimer are on every page."""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from functions.common import pages, session
from functions.loan_apply import actions, catalogue, service

PAGES = Path(__file__).parent / "pages"


def render(template: str, openid: str, **context: Any) -> str:
    return pages.render(PAGES, template, csrf_token=session.csrf_token(openid), catalogue=catalogue.load(),
                        disclaimer=service.DISCLAIMER, **context)


def apply_form(openid: str, values: dict, errors: dict[str, str]) -> str:
    """The form, filled with `values`; a fresh idempotency key unless the values carry one."""
    values = {"idempotency_key": secrets.token_urlsafe(18), **values}
    products = {code: p.public() for code, p in catalogue.load().products.items()}
    return render("apply.html", openid, values=values, errors=errors, products=products,
                  checks=service.step_checks(catalogue.load()))


def blank_form(openid: str, product: str) -> str:
    """The empty form, on the product the link named when there is one."""
    return apply_form(openid, {"product": product if catalogue.load().product(product) else ""}, {})


def mine(openid: str) -> str:
    return render("mine.html", openid, applications=actions.mine(openid))


def detail(openid: str, application_id: str, submitted: bool) -> str:
    return render("detail.html", openid, application=actions.one_of_mine(openid, application_id),
                  submitted=submitted)

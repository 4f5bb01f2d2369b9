"""Customers signed in for tests as /oauth/callback signs them in: a session stored in the
sessions table (the `aws` fixture's moto, or the local stack's)."""
from __future__ import annotations

from functions.common import session


def signed_in(openid: str) -> session.Session:
    return session.start(openid)


def cookie(signed: session.Session) -> dict[str, str]:
    return {"Cookie": f"{session.COOKIE}={signed.cookie_value}"}


def customer(openid: str, form: bool = False, csrf: bool = True) -> dict[str, str]:
    """Headers of a newly signed-in customer: the session cookie, its CSRF token, a content
    type."""
    signed = signed_in(openid)
    headers = cookie(signed)
    if csrf:
        headers["X-CSRF-Token"] = signed.csrf_token
    headers["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
    return headers

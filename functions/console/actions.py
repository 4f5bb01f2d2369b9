"""The console's one use case: an authorization code and its PKCE verifier, from the
browser that started the sign-in, exchanged at the issuer's token endpoint for the staff
member's ID token (verified here before it is handed back: the page never trusts what it
cannot check). The exchange runs here rather than in the page so that the page's CSP keeps
`connect-src 'self'` and the issuer's token endpoint needs no CORS."""
from __future__ import annotations

from typing import Any

from functions.common import config, staff, urls
from functions.common.errors import ApiError, FieldError, ServiceUnavailable, ValidationFailed
from functions.common.log import get_logger

logger = get_logger()
CALLBACK = "/console"


class SignInFailed(ApiError):
    def __init__(self) -> None:
        super().__init__(401, "sign_in_failed", "登录未完成，请重新登录")


def exchange(code: str, verifier: str) -> dict[str, Any]:
    """{"id_token", "expires_in", "staff": {name, roles, branch}} for a code the issuer
    issued to this console, redeemed with the verifier of its PKCE challenge."""
    import requests

    fields = [FieldError(name, "required", "缺少登录信息") for name, value in
              (("code", code), ("code_verifier", verifier)) if not value]
    if fields:
        raise ValidationFailed(fields)
    issuer = config.settings().staff_issuer()
    try:
        answer = requests.post(staff.endpoint(issuer, "token_endpoint"), timeout=staff.FETCH_TIMEOUT_S, data={
            "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "client_id": issuer.audience, "redirect_uri": urls.absolute(CALLBACK)})
    except (requests.RequestException, staff.IssuerUnavailable) as error:
        logger.warning("token endpoint unavailable", extra={"error": type(error).__name__})
        raise ServiceUnavailable() from None
    if answer.status_code != 200:
        logger.info("authorization code refused", extra={"status": answer.status_code})
        raise SignInFailed()
    try:
        id_token = str(answer.json()["id_token"])
        claims = staff.verify(id_token, issuer)
    except (ValueError, KeyError, TypeError, staff.InvalidToken) as error:
        logger.info("token endpoint answered no valid ID token", extra={"reason": str(error)})
        raise SignInFailed() from None
    except staff.IssuerUnavailable:
        raise ServiceUnavailable() from None
    member = staff.from_claims(claims, issuer)
    return {"id_token": id_token, "expires_at": int(claims["exp"]),
            "staff": {"name": member.name, "roles": sorted(member.roles), "branch": member.branch}}

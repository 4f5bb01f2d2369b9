"""API Gateway's Lambda TOKEN authorizer for every staff route (serverless.yml,
`staffAuthorizer`): the caller's `Authorization: Bearer` token verified as the functions
verify it (functions/common/staff.py), before any feature function runs. It decides on
identity only: which role a route needs is the route's own check, made again with the same
token in the function (API Gateway caches this answer per token for a minute, across every
staff route, so the policy it returns covers them all)."""
from __future__ import annotations

from typing import Any

from functions.common import config, staff
from functions.common.log import get_logger

logger = get_logger()


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """An Allow policy for every staff route of the API, with the verified subject as the
    principal; "Unauthorized" (API Gateway's 401) for a missing or invalid token."""
    token = staff.bearer(event.get("authorizationToken"))
    if token is None:
        raise Exception("Unauthorized")  # noqa: TRY002 - the exact text API Gateway maps to 401
    issuer = config.settings().staff_issuer()
    try:
        claims = staff.verify(token, issuer)
    except staff.InvalidToken as error:
        logger.info("staff token refused at the gateway", extra={"reason": str(error)})
        raise Exception("Unauthorized") from None  # noqa: TRY002
    member = staff.from_claims(claims, issuer)
    return {
        "principalId": member.subject,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": api_arn(event["methodArn"])}],
        },
        # for the access log only: the functions read the token themselves
        "context": {"subject": member.subject, "roles": " ".join(sorted(member.roles))},
    }


def api_arn(method_arn: str) -> str:
    """`arn:...:execute-api:<region>:<account>:<api>/<stage>/*`: the cached answer is reused
    for every staff route the same token calls."""
    api, _, rest = method_arn.partition("/")
    stage = rest.split("/", 1)[0]
    return f"{api}/{stage}/*"

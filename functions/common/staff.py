"""Who a member of staff is and what they may do: the identity every back-office route acts
under. Features take a `Staff` from `http.require_staff(request, *roles)` and never read an
identity from anything the caller writes themselves.

The identity is the bank's OpenID Connect provider's: a signed token (`Authorization:
Bearer`) verified here against the issuer's published keys (JWKS, found through its
discovery document) with joserfc, a maintained JOSE library. API Gateway's authorizer
checks the same token first (functions/staff_authorizer); the function checks it again, so
a route reached any other way (a misconfigured stage, a direct invoke) trusts nothing.
joserfc and requests are imported on the first staff request only: customer routes never
pay for them."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from time import monotonic
from typing import Any

CUSTOMER_MANAGER = "customer_manager"  # bookings of their own branch: day list, outcome
LOAN_REVIEWER = "loan_reviewer"  # loan queue, decrypted read, UNDER_REVIEW, recommendation
LOAN_APPROVER = "loan_approver"  # the queue of applications under review, approve / reject
AUDITOR = "auditor"  # the audit trail, nothing else
ROLES = (CUSTOMER_MANAGER, LOAN_REVIEWER, LOAN_APPROVER, AUDITOR)
# Why a member of staff opens a customer's personal data: chosen from this list (the console
# offers it), refused otherwise, recorded on the audit trail with the read.
READ_REASONS = {
    "credit_review": "授信审核",
    "identity_check": "核实申请人身份",
    "contact_applicant": "联系申请人补充材料",
    "customer_request": "申请人来电查询",
    "complaint": "投诉处理",
}

ALGORITHMS = ["RS256"]  # pinned: never `none`, never HS* (a public key is no shared secret)
LEEWAY_S = 60  # clock skew between the issuer and us, for exp / nbf / iat
JWKS_MAX_AGE_S = 3600  # keys are refetched at least this often...
JWKS_REFETCH_MIN_S = 30  # ...and on an unknown `kid`, at most this often (no fetch storm)
FETCH_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Staff:
    """A member of staff on one request: `subject` is the identity provider's stable id,
    `name` what the console shows, `branch` the branch claim (None for head office), and
    where the request came from, for the audit trail."""

    subject: str
    name: str
    roles: frozenset[str]
    branch: str | None = None
    source_ip: str = ""
    user_agent: str = ""

    def has(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class Issuer:
    """The identity provider a stage trusts (config.Settings.staff_issuer())."""

    issuer: str
    audience: str  # the console's client id: the `aud` of the tokens it is given
    discovery_url: str  # where the discovery document is (normally <issuer>/.well-known/...)
    roles_claim: str = "cognito:groups"
    branch_claim: str = "custom:branch"
    name_claim: str = "name"
    authorize_url: str = ""  # the sign-in page; empty: the discovery document's
    token_url: str = ""  # the token endpoint; empty: the discovery document's


class InvalidToken(Exception):
    """The token is not one this stage accepts; the reason is for the log, never the caller."""


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def verify(token: str, issuer: Issuer) -> dict[str, Any]:
    """The claims of a token the issuer signed for this audience, now valid; InvalidToken
    otherwise. Checked: RS256 signature by a key of the issuer's JWKS (refetched once on an
    unknown `kid`), `iss`, `aud`, `exp`, `nbf`, `iat` (with LEEWAY_S), `sub`, and
    `token_use` where the issuer sets it (Cognito: the ID token carries the audience, the
    groups and the custom attributes)."""
    from joserfc import jws, jwt
    from joserfc.errors import JoseError

    try:
        kid = jws.extract_compact(token.encode("ascii")).headers().get("kid")
    except (JoseError, ValueError, UnicodeError) as error:
        raise InvalidToken(f"malformed: {type(error).__name__}") from None
    keys = _keys.find(issuer, kid)
    try:
        decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY_S,
            iss={"essential": True, "value": issuer.issuer},
            aud={"essential": True, "value": issuer.audience},
            sub={"essential": True},
            exp={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as error:
        raise InvalidToken(f"{type(error).__name__}: {error}") from None
    claims = decoded.claims
    if claims.get("token_use", "id") != "id":
        raise InvalidToken("token_use")
    return claims


def from_claims(claims: dict[str, Any], issuer: Issuer, source_ip: str = "", user_agent: str = "") -> Staff:
    """The member of staff a verified token names: roles from the roles claim (a list, or a
    space- or comma-separated string, as IdPs differ), unknown roles dropped."""
    raw = claims.get(issuer.roles_claim) or []
    if isinstance(raw, str):
        raw = raw.replace(",", " ").split()
    roles = frozenset(r for r in raw if isinstance(r, str) and r in ROLES)
    branch = claims.get(issuer.branch_claim)
    subject = str(claims["sub"])
    name = claims.get(issuer.name_claim) or claims.get("preferred_username") or claims.get("cognito:username")
    return Staff(subject=subject, name=str(name or subject), roles=roles,
                 branch=str(branch) if branch else None, source_ip=source_ip, user_agent=user_agent)


class _JwksCache:
    """The issuer's key set per container: fetched through the discovery document, kept
    JWKS_MAX_AGE_S, refetched at most every JWKS_REFETCH_MIN_S when a token names a key it
    does not have (the issuer rotated its signing key)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[Issuer, tuple[float, Any, set[str]]] = {}

    def find(self, issuer: Issuer, kid: str | None) -> Any:
        with self._lock:
            held = self._held.get(issuer)
            age = monotonic() - held[0] if held else 0.0
            if held is None or age >= JWKS_MAX_AGE_S or (kid not in held[2] and age >= JWKS_REFETCH_MIN_S):
                held = self._held[issuer] = self._fetch(issuer)
        if kid not in held[2]:
            raise InvalidToken("unknown kid")
        return held[1]

    @staticmethod
    def _fetch(issuer: Issuer) -> tuple[float, Any, set[str]]:
        from joserfc.jwk import KeySet

        published = _get_json(discovery(issuer)["jwks_uri"])
        try:
            keys = KeySet.import_key_set({"keys": [k for k in published.get("keys", []) if k.get("kty") == "RSA"]})
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise IssuerUnavailable(f"unreadable JWKS: {type(error).__name__}") from None
        return monotonic(), keys, {k.kid for k in keys.keys if k.kid}

    def clear(self) -> None:
        with self._lock:
            self._held.clear()


class IssuerUnavailable(Exception):
    """The issuer's discovery document or keys could not be fetched (a 503, not a 401)."""


def discovery(issuer: Issuer) -> dict[str, Any]:
    """The issuer's discovery document (OpenID Connect Discovery 1.0), which must name the
    issuer it is configured as (a document served elsewhere cannot redirect trust)."""
    document = _get_json(issuer.discovery_url)
    if document.get("issuer") != issuer.issuer:
        raise InvalidToken("discovery document names another issuer")
    return document


def endpoint(issuer: Issuer, name: str) -> str:
    """The sign-in page (`authorization_endpoint`) or token endpoint (`token_endpoint`): the
    stage's setting, else the discovery document's."""
    configured = {"authorization_endpoint": issuer.authorize_url, "token_endpoint": issuer.token_url}[name]
    found = configured or discovery(issuer).get(name)
    if not found:
        raise IssuerUnavailable(f"the issuer names no {name}")
    return str(found)


def _get_json(url: str) -> dict[str, Any]:
    import requests

    try:
        answer = requests.get(url, timeout=FETCH_TIMEOUT_S)
        answer.raise_for_status()
        document = answer.json()
    except (requests.RequestException, ValueError) as error:
        raise IssuerUnavailable(type(error).__name__) from None
    if not isinstance(document, dict):
        raise IssuerUnavailable(f"{url} is no JSON object")
    return document


_keys = _JwksCache()


def forget_keys() -> None:
    """Drop the cached key sets (config.reset: the tests change issuers between cases)."""
    _keys.clear()

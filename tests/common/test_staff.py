"""Staff tokens (functions/common/staff.py), against an OpenID Connect issuer of the test's
own served over HTTP on 127.0.0.1 (discovery document and JWKS), as a bank's IdP would
serve them: the token the issuer signs for the console is accepted, every other refused."""
from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from functions.common import config, staff

AUDIENCE = "console-client"


class Issuer:
    """An issuer: its discovery document and JWKS over HTTP, counting the fetches; its
    signing keys can be rotated."""

    def __init__(self) -> None:
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})]
        self.fetches = 0
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def app(self, environ, start_response):
        request = Request(environ)
        if request.path == "/.well-known/openid-configuration":
            body: Any = {"issuer": self.url, "jwks_uri": f"{self.url}/jwks.json",
                         "id_token_signing_alg_values_supported": ["RS256"]}
        elif request.path == "/jwks.json":
            self.fetches += 1
            body = KeySet(self.keys).as_dict(private=False)
        else:
            return Response("", 404)(environ, start_response)
        return Response(json.dumps(body), content_type="application/json")(environ, start_response)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": self.url, "aud": AUDIENCE, "sub": "s-123", "token_use": "id", "iat": now,
                  "exp": now + 600, "name": "张敏", "cognito:groups": ["loan_reviewer", "not_a_role"],
                  "custom:branch": "HS01"}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, key: RSAKey | None = None, header: dict | None = None, **overrides: Any) -> str:
        key = key or self.keys[0]
        return jwt.encode({"alg": "RS256", "kid": key.kid, **(header or {})}, self.claims(**overrides), key)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def issuer(setting):
    served = Issuer()
    setting("STAFF_OIDC_ISSUER", served.url)
    setting("STAFF_OIDC_AUDIENCE", AUDIENCE)
    setting("STAFF_OIDC_DISCOVERY_URL", "")
    yield served
    served.stop()


def verify(token: str) -> dict:
    return staff.verify(token, config.settings().staff_issuer())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_token_the_issuer_signed_for_the_console_names_the_member_and_their_roles(issuer):
    issuer_settings = config.settings().staff_issuer()
    member = staff.from_claims(verify(issuer.token()), issuer_settings, "10.0.0.1", "Chrome")
    assert member == staff.Staff(subject="s-123", name="张敏", roles=frozenset({"loan_reviewer"}), branch="HS01",
                                 source_ip="10.0.0.1", user_agent="Chrome")
    verify(issuer.token(exp=int(time.time()) - 30))  # within the leeway for clock skew
    assert issuer.fetches == 1  # the keys are cached


def test_roles_and_branch_come_from_the_claims_the_stage_names(issuer, setting):
    setting("STAFF_ROLES_CLAIM", "roles")
    setting("STAFF_BRANCH_CLAIM", "org_unit")
    claims = verify(issuer.token(roles="loan_approver, auditor", org_unit="HS02"))
    member = staff.from_claims(claims, config.settings().staff_issuer())
    assert member.roles == {"loan_approver", "auditor"} and member.branch == "HS02"


@pytest.mark.parametrize("case", ["forged payload", "other key", "expired", "not yet valid", "issued in the future",
                                  "wrong audience", "no audience", "wrong issuer", "no subject", "no expiry",
                                  "access token", "alg none", "HS256 with the public key", "unknown kid",
                                  "no kid", "not a JWT"])
def test_every_other_token_is_refused(issuer, case):
    now = int(time.time())
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    good = issuer.token()
    head, payload, signature = good.split(".")
    public_pem = issuer.keys[0].as_pem(private=False)
    tokens = {
        "forged payload": lambda: ".".join((head, b64(json.dumps(issuer.claims(**{"cognito:groups": ["loan_approver"]})
                                                                  ).encode()), signature)),
        "other key": lambda: issuer.token(key=stranger),
        "expired": lambda: issuer.token(exp=now - 120),
        "not yet valid": lambda: issuer.token(nbf=now + 300),
        "issued in the future": lambda: issuer.token(iat=now + 300),
        "wrong audience": lambda: issuer.token(aud="another-client"),
        "no audience": lambda: issuer.token(aud=None),
        "wrong issuer": lambda: issuer.token(iss="https://evil.example.com"),
        "no subject": lambda: issuer.token(sub=None),
        "no expiry": lambda: issuer.token(exp=None),
        "access token": lambda: issuer.token(token_use="access"),
        "alg none": lambda: ".".join((b64(json.dumps({"alg": "none", "kid": "k1"}).encode()), payload, "")),
        "HS256 with the public key": lambda: _hs256(public_pem, issuer.claims()),
        "unknown kid": lambda: issuer.token(header={"kid": "k9"}),
        "no kid": lambda: ".".join((b64(json.dumps({"alg": "RS256"}).encode()), payload, signature)),
        "not a JWT": lambda: "not-a-token",
    }
    verify(good)
    with pytest.raises(staff.InvalidToken) as refused:
        verify(tokens[case]())
    assert REASONS[case] in str(refused.value)  # refused for its own fault, not another


REASONS = {
    "forged payload": "bad_signature", "other key": "bad_signature", "expired": "expired",
    "not yet valid": "not yet valid", "issued in the future": "issued in the future",
    "wrong audience": "Invalid claim: 'aud'", "no audience": "Missing claim: 'aud'",
    "wrong issuer": "Invalid claim: 'iss'", "no subject": "Missing claim: 'sub'", "no expiry": "Missing claim: 'exp'",
    "access token": "token_use", "alg none": "'none' is not allowed",
    "HS256 with the public key": "'HS256' is not allowed",
    "unknown kid": "unknown kid", "no kid": "unknown kid", "not a JWT": "malformed",
}


def _hs256(secret: bytes, claims: dict) -> str:
    """A token MACed with the issuer's public key as the HMAC secret (the classic RS/HS
    confusion), built by hand: joserfc itself refuses to make one."""
    import hashlib
    import hmac

    signing_input = b64(json.dumps({"alg": "HS256", "kid": "k1"}).encode()) + "." + b64(json.dumps(claims).encode())
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def test_a_rotated_key_is_fetched_once_its_first_token_arrives(issuer, monkeypatch):
    verify(issuer.token())
    issuer.keys.append(RSAKey.generate_key(2048, parameters={"kid": "k2"}))
    # within JWKS_REFETCH_MIN_S of the last fetch an unknown kid does not fetch again (no
    # fetch storm from made-up kids)...
    with pytest.raises(staff.InvalidToken):
        verify(issuer.token(key=issuer.keys[1]))
    assert issuer.fetches == 1
    # ...after it, the first token of the new key fetches the keys once, then they are cached
    monkeypatch.setattr(staff, "JWKS_REFETCH_MIN_S", 0)
    verify(issuer.token(key=issuer.keys[1]))
    verify(issuer.token(key=issuer.keys[1]))
    assert issuer.fetches == 2
    verify(issuer.token())  # the old key still verifies until the issuer drops it


def test_a_discovery_document_naming_another_issuer_is_not_trusted(issuer, setting):
    setting("STAFF_OIDC_ISSUER", "https://idp.example-bank.cn")
    setting("STAFF_OIDC_DISCOVERY_URL", f"{issuer.url}/.well-known/openid-configuration")
    with pytest.raises(staff.InvalidToken):
        verify(issuer.token(iss="https://idp.example-bank.cn"))


def test_an_unreachable_issuer_is_unavailable_not_a_bad_token(issuer):
    issuer.stop()
    with pytest.raises(staff.IssuerUnavailable):
        verify(issuer.token())


def test_the_bearer_scheme_is_read_exactly():
    assert staff.bearer("Bearer abc") == staff.bearer("bearer  abc ") == "abc"
    assert staff.bearer("Basic abc") is staff.bearer("Bearer ") is staff.bearer(None) is None


def test_the_gateway_authorizer_allows_a_verified_token_on_every_staff_route_and_refuses_the_rest(issuer):
    from functions.console import authorizer

    arn = "arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/prod/GET/loans/staff/applications"
    answer = authorizer.handler({"type": "TOKEN", "authorizationToken": f"Bearer {issuer.token()}", "methodArn": arn})
    assert answer["principalId"] == "s-123" and answer["context"] == {"subject": "s-123", "roles": "loan_reviewer"}
    assert answer["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow",
         "Resource": "arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/prod/*"}]
    for token in (None, "", "Bearer nope", f"Bearer {issuer.token(aud='another-client')}", f"Basic {issuer.token()}"):
        with pytest.raises(Exception, match="^Unauthorized$"):
            authorizer.handler({"type": "TOKEN", "authorizationToken": token, "methodArn": arn})

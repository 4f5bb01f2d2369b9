"""The staff identity provider, locally: moto's cognito-idp holds the user pool the
template defines (infra/resources/staff.yml, created by resources.create_all) and issues
RS256-signed tokens and serves their JWKS; this module adds staff to it, signs them in,
and plays the front end a bank's IdP has (discovery document, an authorize page listing
the demo staff, a token endpoint exchanging an authorization code, PKCE checked). It is
not product code: in AWS, Cognito's hosted UI or the bank's own IdP is the front end."""
from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

PASSWORD = "Local-Staff-2026"  # noqa: S105 - the demo staff's password, the local stack only
CODE_TTL_S = 120


@dataclass(frozen=True)
class DemoStaff:
    username: str
    name: str
    roles: tuple[str, ...]
    branch: str | None = None


# Every role, and customer managers of two branches (infra/local/demo/branch_lookup.json).
DEMO_STAFF = (
    DemoStaff("cm.hs01", "王丽（天一广场）", ("customer_manager",), "HS01"),
    DemoStaff("cm.hs02", "李伟（鼓楼）", ("customer_manager",), "HS02"),
    DemoStaff("reviewer.a", "张敏（审查）", ("loan_reviewer",)),
    DemoStaff("reviewer.b", "刘洋（审查）", ("loan_reviewer",)),
    DemoStaff("approver.a", "陈静（审批）", ("loan_approver",)),
    DemoStaff("approver.b", "杨磊（审批）", ("loan_approver",)),
    DemoStaff("auditor", "黄芳（审计）", ("auditor",)),
)


def pool() -> tuple[str, str]:
    """(user pool id, client id) of the stage's staff pool, from the functions' settings."""
    issuer, client_id = os.environ["STAFF_OIDC_ISSUER"], os.environ["STAFF_OIDC_AUDIENCE"]
    return issuer.rstrip("/").rsplit("/", 1)[1], client_id


def _client(session: Any = None) -> Any:
    region = pool()[0].split("_", 1)[0]
    if session is not None:
        return session.client("cognito-idp", region_name=region)
    return _pool_client(region, os.environ.get("AWS_ENDPOINT_URL"))


@cache
def _pool_client(region: str, endpoint_url: str | None) -> Any:
    """One client per pool's region and endpoint (making one loads Cognito's whole model)."""
    import boto3

    return boto3.session.Session().client("cognito-idp", region_name=region, endpoint_url=endpoint_url)


def add_staff(member: DemoStaff, session: Any = None) -> None:
    """Create (or update) a member of staff in the pool, with their groups and branch."""
    idp = _client(session)
    pool_id, _ = pool()
    attributes = [{"Name": "name", "Value": member.name}]
    if member.branch:
        attributes.append({"Name": "custom:branch", "Value": member.branch})
    try:
        idp.admin_create_user(UserPoolId=pool_id, Username=member.username, UserAttributes=attributes,
                              MessageAction="SUPPRESS")
    except idp.exceptions.UsernameExistsException:
        idp.admin_update_user_attributes(UserPoolId=pool_id, Username=member.username, UserAttributes=attributes)
    idp.admin_set_user_password(UserPoolId=pool_id, Username=member.username, Password=PASSWORD, Permanent=True)
    listed = idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=member.username)["Groups"]
    held = {g["GroupName"] for g in listed}
    for role in held - set(member.roles):
        idp.admin_remove_user_from_group(UserPoolId=pool_id, Username=member.username, GroupName=role)
    for role in set(member.roles) - held:
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=member.username, GroupName=role)


def sign_in(username: str, session: Any = None) -> dict[str, str]:
    """The tokens the pool issues to a member of staff ({"IdToken", "AccessToken", ...})."""
    idp = _client(session)
    pool_id, client_id = pool()
    answer = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    return answer["AuthenticationResult"]


def load() -> int:
    """The demo staff (make run); returns how many."""
    for member in DEMO_STAFF:
        add_staff(member)
    return len(DEMO_STAFF)


class FrontEnd:
    """The IdP's browser-facing endpoints, mounted at /_local/idp:

      GET  /authorize   a page listing the demo staff (response_type=code, client_id,
                        redirect_uri, state, code_challenge with S256); choosing one
                        redirects to redirect_uri?code=...&state=...
      POST /token       grant_type=authorization_code, code, redirect_uri, client_id,
                        code_verifier → the pool's tokens for that member of staff

    A code is single-use, bound to its client, redirect URI and PKCE challenge, and lives
    CODE_TTL_S."""

    def __init__(self) -> None:
        self._codes: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/authorize" and request.method == "GET":
            response = self.authorize(request)
        elif request.path == "/token" and request.method == "POST":
            response = self.token(request)
        else:
            response = _oauth_error(404, "not_found")
        return response(environ, start_response)

    def authorize(self, request: Request) -> Response:
        args = request.args
        _, client_id = pool()
        if args.get("response_type") != "code" or args.get("client_id") != client_id \
                or args.get("code_challenge_method") != "S256" or not args.get("code_challenge") \
                or not args.get("redirect_uri"):
            return Response("invalid authorization request: response_type=code, this client, a redirect_uri "
                            "and a S256 code_challenge are required", status=400)
        chosen = args.get("username")
        if chosen:
            if chosen not in {m.username for m in DEMO_STAFF}:
                return Response("unknown member of staff", status=400)
            code = secrets.token_urlsafe(24)
            with self._lock:
                self._codes[code] = {"username": chosen, "client_id": client_id, "redirect_uri": args["redirect_uri"],
                                     "challenge": args["code_challenge"], "expires": time.monotonic() + CODE_TTL_S}
            query = urlencode({"code": code, **({"state": args["state"]} if args.get("state") else {})})
            return Response("", status=302, headers={"Location": f"{args['redirect_uri']}?{query}"})
        rows = "".join(
            f'<li><a id="as-{html.escape(m.username)}" '
            f'href="?{html.escape(urlencode({**args, "username": m.username}))}">{html.escape(m.name)}</a> '
            f"<code>{html.escape(m.username)}</code> {html.escape(' '.join(m.roles))}"
            f"{' · ' + html.escape(m.branch) if m.branch else ''}</li>"
            for m in DEMO_STAFF)
        page = (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>本地身份提供方</title>'
                f"<h1>选择演示员工登录</h1><p>本地栈的身份提供方（moto cognito-idp）。</p><ul>{rows}</ul></html>")
        return Response(page, content_type="text/html; charset=utf-8")

    def token(self, request: Request) -> Response:
        form = request.form
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code" or grant is None or grant["expires"] < time.monotonic():
            return _oauth_error(400, "invalid_grant")
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if form.get("client_id") != grant["client_id"] or form.get("redirect_uri") != grant["redirect_uri"] \
                or not secrets.compare_digest(challenge, grant["challenge"]):
            return _oauth_error(400, "invalid_grant")
        tokens = sign_in(grant["username"])
        body = {"id_token": tokens["IdToken"], "access_token": tokens["AccessToken"], "token_type": "Bearer",
                "expires_in": tokens["ExpiresIn"]}
        return Response(json.dumps(body), content_type="application/json", headers={"Cache-Control": "no-store"})


def _oauth_error(status: int, error: str) -> Response:
    return Response(json.dumps({"error": error}), status=status, content_type="application/json")

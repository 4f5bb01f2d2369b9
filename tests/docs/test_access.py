"""Every route its OpenAPI file says needs the session or a staff token is refused without
it, in the documented way: JSON routes answer 401 in the error shape, pages redirect to
WeChat OAuth, staff routes answer 401 without a token and with one that is no token."""
from __future__ import annotations

import importlib
import re

import pytest
from chalice.test import Client

from scripts import openapi_check as oc
from tests.docs.conformance import conforms

FEATURES = [f for f in oc.FEATURES if f != "webhook"]


def _requires(op: dict, spec: dict, scheme: str) -> bool:
    alternatives = op.get("security", spec.get("security", []))
    return bool(alternatives) and all(scheme in alternative for alternative in alternatives)


def _call(client: Client, method: str, path: str, op: dict, headers: dict):
    url = re.sub(r"{[^}]+}", "x1", path)
    body = op.get("requestBody", {}).get("content", {})
    if body:
        media = next(iter(body))
        headers = {**headers, "Content-Type": media}
        return client.http.request(method, url, headers=headers, body=b"{}" if "json" in media else b"")
    return client.http.request(method, url, headers=headers)


def _cases(scheme: str) -> list:
    """(feature, method, path) of every documented route that requires `scheme`; a missing
    file is reported by test_openapi.py."""
    out = []
    for feature in FEATURES:
        if oc.spec_path(feature).exists():
            spec = oc.load(feature)
            out += [pytest.param(feature, method, path, id=f"{feature} {method} {path}")
                    for method, path, op, _ in oc.operations(spec) if _requires(op, spec, scheme)]
    return out


@pytest.fixture(scope="module")
def clients():
    opened: dict[str, Client] = {}
    yield lambda feature: opened.setdefault(feature, Client(importlib.import_module(f"functions.{feature}.app").app))


@pytest.mark.parametrize(("feature", "method", "path"), _cases("wxsession"))
def test_routes_that_need_a_session_refuse_without_one(clients, feature, method, path):
    spec = oc.load(feature)
    response = _call(clients(feature), method, path, spec["paths"][path][method.lower()], {})
    body = conforms(spec, method, path, response)
    if oc.is_api(path):
        assert response.status_code == 401 and body["code"] == "login_required"
    else:
        assert response.status_code == 302
        assert "/connect/oauth2/authorize?" in response.headers["Location"]


@pytest.mark.parametrize(("feature", "method", "path"), _cases("staffToken"))
def test_staff_routes_refuse_a_missing_or_malformed_token(clients, feature, method, path):
    spec = oc.load(feature)
    op = spec["paths"][path][method.lower()]
    missing = _call(clients(feature), method, path, op, {})
    assert missing.status_code == 401
    assert conforms(spec, method, path, missing)["code"] == "unauthorized"
    wrong = _call(clients(feature), method, path, op, {"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401
    assert conforms(spec, method, path, wrong)["code"] == "invalid_token"

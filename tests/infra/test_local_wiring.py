"""serverless.yml wires every Chalice route exactly once, with the same path and method,
to the function whose handler is that Chalice app (or, for the webhook, its entry, which
hands the app what it does not answer itself); and wires nothing else. This is the one
check of the two declarations, for every feature (a feature's own tests do not repeat it)."""
from __future__ import annotations

import importlib
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from chalice import Chalice

from infra.local import slsconfig
from infra.local.gateway import routes_from

ROOT = Path(slsconfig.ROOT)
CONFIG = slsconfig.load("local")
FEATURE_APPS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
# Each feature's paths start with its own prefix (docs/development.md); the webhook's are
# WeChat's endpoints.
PREFIXES = {"booking": "/booking", "branch_lookup": "/branches", "loan_apply": "/loans", "notify": "/notify",
            "audit": "/audit",
            "console": "/console",
            "products": "/products",
            # and WeChat's domain check, which must be at the root (MP_verify_<token>.txt)
            "webhook": ("/wechat", "/oauth/", "/{verify_file}")}


def chalice_routes(module_name: str) -> set[tuple[str, str]]:
    app = importlib.import_module(module_name).app
    assert isinstance(app, Chalice)
    return {(method, path) for path, methods in app.routes.items() for method in methods}


def answering_app(key: str) -> tuple[str, Chalice]:
    """(module, Chalice app) answering function `key`'s http events: its handler, or the app
    of the feature whose `entry.handler` it is."""
    function = CONFIG.functions[key]
    handler = getattr(importlib.import_module(function.module), function.attribute)
    if isinstance(handler, Chalice):
        return function.module, handler
    assert (function.module.rsplit(".", 1)[1], function.attribute) == ("entry", "handler"), key
    module = function.module.rsplit(".", 1)[0] + ".app"
    return module, importlib.import_module(module).app


def test_no_route_is_wired_twice():
    twice = [k for k, n in Counter((r.method, r.path) for r in routes_from(CONFIG)).items() if n > 1]
    assert twice == []


def test_http_events_only_on_chalice_apps():
    for route in routes_from(CONFIG):
        assert isinstance(answering_app(route.function)[1], Chalice), route.function


@pytest.mark.parametrize("feature", FEATURE_APPS)
def test_chalice_routes_equal_the_http_events(feature):
    module = f"functions.{feature}.app"
    keys = sorted(k for k in {r.function for r in routes_from(CONFIG)} if answering_app(k)[0] == module)
    assert len(keys) == 1, f"functions/{feature}/app.app should answer exactly one function's http events, got {keys}"
    wired = {(r.method, r.path) for r in routes_from(CONFIG) if r.function == keys[0]}
    routes = chalice_routes(module)
    assert routes - wired == set(), f"Chalice routes of {feature} that serverless.yml does not wire"
    assert wired - routes == set(), f"http events of {keys[0]} that {feature}'s app has no route for"


@pytest.mark.parametrize("feature", FEATURE_APPS)
def test_a_features_paths_start_with_its_prefix(feature):
    routes = chalice_routes(f"functions.{feature}.app")
    assert {path for _method, path in routes if not path.startswith(PREFIXES[feature])} == set()


INTENTS = sorted(key for key, function in CONFIG.functions.items() if key.endswith("Intent"))
# (functions.common.session is not among them: notify's intent ends a customer's sessions
# when they unfollow)
PAGE_MACHINERY = ("chalice", "jinja2", "functions.common.pages")


@pytest.mark.parametrize("key", INTENTS)
def test_an_intent_loads_no_page_machinery(key):
    """A feature's Intent function answers the webhook within WeChat's 5 s: its handler's
    module (replies.py) and what it imports leave routes, pages and templates alone."""
    function = CONFIG.functions[key]
    assert function.attribute == "intent" and function.module.endswith(".replies"), function.handler
    screens = function.module.replace(".replies", ".screens")
    code = (f"import sys, {function.module}\n"
            f"print(sorted(m for m in {(*PAGE_MACHINERY, screens)!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_the_check_sees_a_missing_route(tmp_path):
    """The comparison above fails when serverless.yml lacks a route (or has an extra one)."""
    config = slsconfig.load("local", str(ROOT / "tests/infra/test_local_serverless.yml"))
    wired = {(r.method, r.path) for r in routes_from(config) if r.function == "api"}
    routes = chalice_routes("tests.infra.test_local_fixture_app")
    assert routes == wired
    assert routes - (wired - {("GET", "/cookies")}) == {("GET", "/cookies")}

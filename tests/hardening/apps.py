"""Every Chalice app of the stack and its routes, for tests that must cover all of them
(a route added later is covered without touching the tests)."""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

FEATURES = ("webhook", "branch_lookup", "booking", "loan_apply", "notify", "console", "products", "audit")
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
# WeChat's own endpoint: authenticated by its signature, not by a browser session; the
# console's sign-in: a code redeemed with its PKCE verifier, storing nothing (no session yet).
NOT_A_BROWSER_ROUTE = {("webhook", "/wechat", "POST"), ("console", "/console/api/token", "POST")}


@dataclass(frozen=True)
class Route:
    feature: str
    path: str
    method: str
    content_types: tuple[str, ...]

    @property
    def staff(self) -> bool:
        return "/staff/" in self.path

    @property
    def api(self) -> bool:
        return "/api/" in self.path or self.staff

    def concrete(self, value: str = "X0000000001") -> str:
        return re.sub(r"\{[^}]+\}", value, self.path)


def app(feature: str):
    return importlib.import_module(f"functions.{feature}.app").app


def routes() -> list[Route]:
    out = []
    for feature in FEATURES:
        for path, methods in app(feature).routes.items():
            for method, entry in methods.items():
                out.append(Route(feature, path, method, tuple(entry.content_types)))
    return out

"""The product catalogue (products.json): amounts, terms, required fields and pre-screen
thresholds live in data so the bank can change them without touching the rules."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from functions.common.money import yuan

DATA = Path(__file__).parent / "products.json"


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    kind: str  # "loan" (amount repaid over a term) or "card" (a credit limit)
    summary: str
    min_amount_fen: int
    max_amount_fen: int
    terms_months: tuple[int, ...]
    min_age: int
    max_age: int
    required_fields: tuple[str, ...]
    purposes: dict[str, str]
    allowed_employment: tuple[str, ...]
    review_employment: tuple[str, ...]
    review_above_fen: int
    review_dti_bp: int
    max_dti_bp: int
    annual_rate_bp: int = 0
    min_payment_bp: int = 0

    def public(self) -> dict:
        """What the form and the products API show."""
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "summary": self.summary,
            "min_amount_fen": self.min_amount_fen,
            "max_amount_fen": self.max_amount_fen,
            "amount_range": f"{yuan(self.min_amount_fen)}至{yuan(self.max_amount_fen)}",
            "terms_months": list(self.terms_months),
            "purposes": self.purposes,
            "required_fields": list(self.required_fields),
        }


@dataclass(frozen=True)
class Catalogue:
    consent_version: str
    consent_title: str
    consent_text: str
    employment_types: dict[str, str]
    service_cities: tuple[str, ...]
    products: dict[str, Product]

    def product(self, code: str) -> Product | None:
        return self.products.get(code)

    def product_name(self, code: str) -> str:
        found = self.products.get(code)
        return found.name if found else code

    def published(self) -> dict:
        """What the products API publishes: products, employment types and the consent."""
        return {
            "products": [p.public() for p in self.products.values()],
            "employment_types": self.employment_types,
            "consent": {"version": self.consent_version, "title": self.consent_title, "text": self.consent_text},
        }


@lru_cache(maxsize=1)
def load() -> Catalogue:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    products = {}
    for spec in raw["products"]:
        spec = dict(spec)
        for key in ("terms_months", "required_fields", "allowed_employment", "review_employment"):
            spec[key] = tuple(spec[key])
        products[spec["code"]] = Product(**spec)
    return Catalogue(
        consent_version=raw["consent"]["version"],
        consent_title=raw["consent"]["title"],
        consent_text=raw["consent"]["text"],
        employment_types=raw["employment_types"],
        service_cities=tuple(raw["service_cities"]),
        products=products,
    )

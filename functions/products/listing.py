"""The catalogue, for the catalogue page, read through the container's DynamoDB client. The
catalogue is products' first page and needs no login: PynamoDB (its import and its query
machinery) cost it a tenth of its cold start, so this one read goes without it; the
products' model (store.ProductItem, the same attributes) and every other read are in store.py."""
from __future__ import annotations

from datetime import date

from functions.common import aws, config
from functions.products.service import Listed, Product

CATALOGUE = "CATALOGUE"  # the catalogue's partition (store.ProductItem)


def catalogue() -> list[Listed]:
    """Every product of the catalogue with its last published net value, by code."""
    return [_listed(item) for item in aws.partition(config.settings().table("products"), CATALOGUE)]


def _listed(item: dict[str, dict[str, str]]) -> Listed:
    return Listed(product(item), int(item["last_nav_e4"]["N"]) if "last_nav_e4" in item else None,
                  item["last_nav_date"]["S"] if "last_nav_date" in item else None)


def product(item: dict[str, dict[str, str]]) -> Product:
    """The product a catalogue item holds, from DynamoDB's attribute values (the one mapping:
    store.ProductItem.product reads its own serialized item through it too)."""
    text = {name: value["S"] for name, value in item.items() if "S" in value}
    number = {name: int(value["N"]) for name, value in item.items() if "N" in value}
    return Product(text["sk"], text["name"], text["issuer"], text["kind"], text["risk"], number["benchmark_low_bp"],
                   number["benchmark_high_bp"], number["term_days"], number["min_purchase_fen"],
                   number["increment_fen"], date.fromisoformat(text["window_start"]),
                   date.fromisoformat(text["window_end"]), number["quota_fen"], text["status"])

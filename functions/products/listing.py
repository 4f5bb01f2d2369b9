"""The catalogue, for the catalogue page, read through the container's DynamoDB client. The
catalogue is products' first page and needs no login: PynamoDB (its import and its query
machinery) cost it a tenth of its cold start, so this one read goes without it; the
products' model (store.ProductItem, the same attributes) and every other read are in store.py."""
from __future__ import annotations

from datetime import date
from typing import Any

from functions.common import aws, config
from functions.products.service import Listed, Product

CATALOGUE = "CATALOGUE"  # the catalogue's partition (store.ProductItem)


def catalogue() -> list[Listed]:
    """Every product of the catalogue with its last published net value, by code."""
    asked: dict[str, Any] = {"TableName": config.settings().table("products"), "KeyConditionExpression": "pk = :pk",
                             "ExpressionAttributeValues": {":pk": {"S": CATALOGUE}}}
    found: list[Listed] = []
    while True:
        page = aws.dynamodb().query(**asked)
        found += [_listed(item) for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return found
        asked["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _listed(item: dict[str, dict[str, str]]) -> Listed:
    text = {name: value["S"] for name, value in item.items() if "S" in value}
    number = {name: int(value["N"]) for name, value in item.items() if "N" in value}
    product = Product(text["sk"], text["name"], text["issuer"], text["kind"], text["risk"], number["benchmark_low_bp"],
                      number["benchmark_high_bp"], number["term_days"], number["min_purchase_fen"],
                      number["increment_fen"], date.fromisoformat(text["window_start"]),
                      date.fromisoformat(text["window_end"]), number["quota_fen"], text["status"])
    return Listed(product, number.get("last_nav_e4"), text.get("last_nav_date"))

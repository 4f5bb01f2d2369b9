"""What anyone can do with the wealth catalogue, and what the bank's operators and the
nightly schedule do to it: the rules of service.py applied to products' table (store.py).
Raises ApiError for anything refused."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from functions.common import clock
from functions.common.errors import NotFound
from functions.common.log import get_logger
from functions.products import service, store
from functions.products.service import NetValue, Product

HISTORY_DAYS = 90  # net values a product page charts
logger = get_logger()


@dataclass(frozen=True)
class Listed:
    """A product as the catalogue shows it, with its last published net value."""

    product: Product
    nav_e4: int | None
    nav_date: str | None


def _listed(item: store.ProductItem) -> Listed:
    return Listed(item.product(), int(item.last_nav_e4) if item.last_nav_e4 is not None else None, item.last_nav_date)


def catalogue(risk: str | None = None, term: str | None = None) -> list[Listed]:
    """The products listed today (Asia/Shanghai), at a risk level and in a term band if asked."""
    items = {item.sk: item for item in store.catalogue()}
    chosen = service.select((i.product() for i in items.values()), clock.local().date(), risk, term)
    return [_listed(items[p.code]) for p in chosen]


def product(code: str) -> tuple[Listed, list[NetValue]]:
    """A listed product and its recent net values (oldest first); 404 for any other code."""
    item = store.get(code) if service.CODE.fullmatch(code) else None
    if item is None or not service.listed(item.product(), clock.local().date()):
        raise NotFound("该理财产品不存在或已停售")
    return _listed(item), store.history(code, HISTORY_DAYS)


def import_catalogue(products: Iterable[Product]) -> int:
    """Upsert checked products (the operator's import)."""
    return store.save_products(products)


def stage_net_values(values: list[NetValue]) -> tuple[int, list[str]]:
    """Stage checked net values for the nightly publication: (staged, unknown codes). Values
    of a product not in the catalogue are refused, all of them, and nothing is staged."""
    known = {item.sk for item in store.catalogue()}
    unknown = sorted({v.code for v in values} - known)
    if unknown:
        return 0, unknown
    return store.stage(values), []


def publish_net_values() -> int:
    """The nightly job: publish every staged net value of today and before, oldest first, so
    each product's last net value is its newest."""
    staged = store.staged_until(clock.local().date())
    for value in staged:
        store.publish(value)
    logger.info("net values published", extra={"count": len(staged)})
    return len(staged)

"""products: 1,000 purchases at once (64 in flight) against a quota for 100 orders' worth:
exactly 100 placed and, once the local core banking answered, confirmed; the quota's sum never
exceeded; no order twice. Then the same with retried requests: 200 idempotency keys sent five
times each, racing each other. And orders per second, 16 clients ÷ 1 client on a quota that
never runs out (the baseline, measured in the same run).

Runs the real code path (actions.place_order: catalogue, assessment, agreement, KMS seal,
one DynamoDB transaction, the order on products-orders and the event on the notify queue;
core banking's answers through productsOrderResults' handler) in-process against moto.
"""
from __future__ import annotations

import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from bench import moto_account

NAME = "products"
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 10:00 in Ningbo, before the cut-off
AMOUNT_FEN = 100_000  # ¥1,000.00 an order
BUYERS = 20  # customers assessed and signed; each places many orders with keys of its own
IN_FLIGHT = 64


def _seed(quota_orders: int) -> None:
    from functions.products import actions, service, store, suitability

    row = {"code": "BENCH01", "name": "基准理财", "issuer": "甬城理财", "kind": "open", "risk": "R2",
           "benchmark_low_bp": 200, "benchmark_high_bp": 300, "term_days": 0, "min_purchase_fen": AMOUNT_FEN,
           "increment_fen": AMOUNT_FEN, "quota_fen": quota_orders * AMOUNT_FEN, "window_start": "2026-11-01",
           "window_end": "2026-12-31", "status": "on_sale", "documents_version": "v1", "prospectus": "说明书",
           "risk_disclosure": "风险揭示书", "sales_agreement": "销售协议"}
    actions.import_catalogue([service.read_product(row)])
    store.publish_agreement("v1", "理财服务协议")
    current = store.current_agreement()
    for b in range(BUYERS):
        actions.assess(f"bench{b}", {q.id: "3" for q in suitability.QUESTIONNAIRE.questions})
        actions.accept(f"bench{b}", {"agree": "true", "version": current.version, "sha256": current.sha256},
                       "127.0.0.1", "bench")


def _attempt(n: int, key: str) -> tuple[str, str]:
    """(outcome, order id or error code)."""
    from functions.common.errors import ApiError
    from functions.products import actions

    try:
        order = actions.place_order(f"bench{n % BUYERS}", "BENCH01", AMOUNT_FEN, f"card{n % BUYERS}", "5678", key)
        return "placed", order.order_id
    except ApiError as error:
        return "refused", error.code


def _settle(refs: dict) -> Counter:
    """The local core banking answers every order; its answers go through the real handler,
    as Lambda's event source mapping delivers them. Returns the orders by state."""
    import boto3

    from functions.products import store
    from infra.local import queues, slsconfig
    from infra.local.core_banking import FakeCoreBanking
    from infra.local.lambdas import Lambdas

    sqs = boto3.client("sqs")
    FakeCoreBanking(sqs, refs["ProductsOrdersQueue"]["Ref"], refs["ProductsOrderResultsQueue"]["Ref"],
                    balance_fen=10**12).settle()
    config = slsconfig.load("local")
    mappings = [m for m in queues.mappings_from(config, refs) if m.function == "productsOrderResults"]
    queues.QueueDelivery(Lambdas(config), mappings, sqs, "cn-north-1", retry_delay_s=0).drain()
    return Counter(o.state for o in store.Order.scan(store.Order.sk == store.ORDER))


def _rush(requests: int, quota_orders: int, keys: int) -> dict[str, int]:
    """`requests` purchases at once over `keys` idempotency keys (each key sent
    requests // keys times), against a quota for `quota_orders` orders."""
    with moto_account.account(NOW) as refs:
        from functions.products import store

        _seed(quota_orders)
        jobs = [(n % keys, f"bench-key-{n % keys:08d}") for n in range(requests)]
        with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
            outcomes = list(pool.map(lambda job: _attempt(*job), jobs))
        by_key: dict[str, set[str]] = {}
        for (_, key), (outcome, value) in zip(jobs, outcomes, strict=True):
            if outcome == "placed":
                by_key.setdefault(key, set()).add(value)
        stored = list(store.Order.scan(store.Order.sk == store.ORDER))
        sold = store.sold("BENCH01")
        states = _settle(refs)
        return {
            "placed": len(stored), "keys_placed": len(by_key),
            "duplicates": len(stored) - len({o.order_id for o in stored})
            + sum(len(ids) - 1 for ids in by_key.values()),
            "refused_quota": sum(1 for o, v in outcomes if o == "refused" and v == "quota_exhausted"),
            "refused_other": sum(1 for o, v in outcomes if o == "refused" and v != "quota_exhausted"),
            "sold_fen": sold, "quota_fen": quota_orders * AMOUNT_FEN, "confirmed": states["CONFIRMED"],
        }


def _rate(clients: int, per_client: int) -> dict[str, float]:
    """Orders per second with `clients` threads, each placing `per_client` orders."""
    with moto_account.account(NOW):
        _seed(10**6)
        _attempt(0, "bench-warm-up-000")  # imports, connections, the first KMS key
        latencies: list[float] = []

        def client(c: int) -> None:
            for i in range(per_client):
                started = time.perf_counter()
                assert _attempt(c, f"bench-rate-{c:04d}-{i:06d}")[0] == "placed"
                latencies.append(time.perf_counter() - started)

        with ThreadPoolExecutor(max_workers=clients) as pool:
            started = time.perf_counter()
            list(pool.map(client, range(clients)))
            elapsed = time.perf_counter() - started
        return {"rate": clients * per_client / elapsed, "p95_ms": 1000 * statistics.quantiles(latencies, n=20)[-1]}


def run(quick: bool = False) -> list[dict]:
    requests, quota = (200, 20) if quick else (1000, 100)
    rush = _rush(requests, quota, requests)
    retried = _rush(requests, quota, requests // 5)
    orders = 16 if quick else 48
    baseline = _rate(1, orders)
    concurrent = _rate(16, orders // 16)
    ratio = concurrent["rate"] / baseline["rate"]

    def row(metric, value, unit, goal=None, ok=None):
        return {"benchmark": NAME, "metric": metric, "value": value, "unit": unit, "goal": goal, "ok": ok}

    out = []
    for label, got in ((f"{requests} at once", rush), (f"{requests} at once, {requests // 5} keys ×5", retried)):
        out += [
            row(f"{label}: placed", got["placed"], "orders", f"= {quota}", got["placed"] == quota),
            row(f"{label}: confirmed by core banking", got["confirmed"], "orders", f"= {quota}",
                got["confirmed"] == quota),
            row(f"{label}: quota sold ÷ quota", round(got["sold_fen"] / got["quota_fen"], 3), "×", "= 1 (never above)",
                got["sold_fen"] == got["quota_fen"]),
            row(f"{label}: orders twice", got["duplicates"], "orders", "= 0", got["duplicates"] == 0),
            row(f"{label}: refusals other than quota_exhausted", got["refused_other"], "answers", "= 0",
                got["refused_other"] == 0),
        ]
    return out + [
        row("orders/s, 1 client (baseline)", round(baseline["rate"], 1), "orders/s"),
        row("orders/s, 16 clients", round(concurrent["rate"], 1), "orders/s"),
        row("16 clients ÷ 1 client", round(ratio, 2), "×", "≥ 0.8 (no collapse under concurrency)", ratio >= 0.8),
        row("p95 latency per order, 16 clients", round(concurrent["p95_ms"], 1), "ms"),
    ]


if __name__ == "__main__":
    for r in run(quick=True):
        print(r)

"""branch_lookup: the work of one nearest-3 lookup as the number of branches grows.

Branches are spread uniformly over Ningbo's area (so 10⁵ is a far denser map than 10²,
the hard case for a spatial index) and looked up from random points in the city, in-process
against moto. DynamoDB requests and items read are counted from botocore's after-call
events on the clients the models use; latency is the median in-process time of
`service.nearby(k=3)`. Goal: 10⁵ ÷ 10² ≤ 1.5 for requests, items and latency.

Text search (a branch's name, as a customer types it) is measured alongside: requests and
items per search, which read the search catalogue (one item per thousand branches) and the
matches, never the table; its work grows with the catalogue's size, not the table's.
"""
from __future__ import annotations

import contextlib
import os
import random
import statistics
import time

NAME = "branch_lookup"
AREA = ((28.85, 30.35), (120.9, 122.3))  # Ningbo, GCJ-02
CITY = ((29.5, 30.2), (121.2, 121.9))
GOAL = 1.5
HOURS = {d: [["09:00", "12:00"], ["13:30", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")} | {
    "sat": [["09:00", "12:00"]], "sun": []}


@contextlib.contextmanager
def _moto():
    """A fresh moto account with the tables of serverless.yml. Function modules read table
    names at import, so the environment is set before they are imported."""
    from moto import mock_aws

    from infra.local import resources, slsconfig

    config = slsconfig.load("local")
    saved = dict(os.environ)
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "cn-north-1", "AWS_REGION": "cn-north-1", "LOG_LEVEL": "WARNING"})
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ENDPOINT_URL_DYNAMODB"):
        os.environ.pop(key, None)
    pending = {k: {"Ref": f"pending-{k}", "Arn": f"pending-{k}"} for k in config.resources}
    os.environ.update(resources.local_environment(config, pending))
    try:
        with mock_aws():
            os.environ.update(resources.local_environment(config, resources.create_all(config)))
            yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _branches(n: int, rng: random.Random) -> list[dict]:
    return [{"id": f"B{i:06d}", "name": f"甬城银行基准{i}支行", "kind": "branch", "address": f"宁波市测试路{i}号",
             "district": "鄞州区", "city": "宁波市", "phone": "0574-88888888",
             "lat": round(rng.uniform(*AREA[0]), 6), "lng": round(rng.uniform(*AREA[1]), 6),
             "services": ["cash", "atm"], "bookable": True, "hours": HOURS, "exceptions": []} for i in range(n)]


class Counter:
    """DynamoDB calls seen on the models' client (botocore after-call events): requests,
    and items returned (BatchGetItem responses, GetItem, Query/Scan counts)."""

    def __init__(self) -> None:
        from functions.common import aws as common_aws

        self.requests = self.items = 0
        self.clients = [common_aws.dynamodb()]

    def after(self, parsed, **_kw) -> None:
        self.requests += 1
        self.items += sum(len(v) for v in (parsed.get("Responses") or {}).values())
        self.items += parsed.get("Count", 0) + (1 if parsed.get("Item") else 0)

    def __enter__(self) -> Counter:
        for client in self.clients:
            client.meta.events.register("after-call.dynamodb", self.after)
        return self

    def __exit__(self, *exc) -> None:
        for client in self.clients:
            client.meta.events.unregister("after-call.dynamodb", self.after)


def measure(n: int, lookups: int, seed: int = 4) -> dict:
    rng = random.Random(seed)
    with _moto():
        from functions.branch_lookup import service, store

        started = time.perf_counter()
        store.save_all(_branches(n, rng))
        load_s = time.perf_counter() - started
        points = [(rng.uniform(*CITY[0]), rng.uniform(*CITY[1])) for _ in range(lookups)]
        for lat, lng in points[:5]:  # warm the clients
            service.nearby(store, lat, lng, 3)
        times = []
        with Counter() as counter:
            for lat, lng in points:
                started = time.perf_counter()
                found = service.nearby(store, lat, lng, 3)
                times.append(time.perf_counter() - started)
                assert len(found) == 3
        names = [f"基准{rng.randrange(n)}支行" for _ in range(10)]
        with Counter() as searched:
            for name in names:
                assert service.search(store, service.parse(name))
    return {"n": n, "requests": counter.requests / lookups, "items": counter.items / lookups,
            "p50_ms": statistics.median(times) * 1000, "load_s": load_s,
            "search_requests": searched.requests / len(names), "search_items": searched.items / len(names)}


def run(quick: bool = False) -> list[dict]:
    sizes = (100, 1_000, 10_000) if quick else (100, 10_000, 100_000)
    lookups = 40 if quick else 200
    results = [measure(n, lookups) for n in sizes]
    rows = []
    for r in results:
        label = f"{r['n']:,} branches"
        rows += [
            {"benchmark": NAME, "metric": f"requests per nearest-3, {label}", "value": r["requests"],
             "unit": "requests", "goal": None, "ok": None},
            {"benchmark": NAME, "metric": f"items read per nearest-3, {label}", "value": r["items"],
             "unit": "items", "goal": None, "ok": None},
            {"benchmark": NAME, "metric": f"latency p50, {label}", "value": r["p50_ms"], "unit": "ms",
             "goal": None, "ok": None},
            {"benchmark": NAME, "metric": f"load time, {label}", "value": r["load_s"], "unit": "s",
             "goal": None, "ok": None},
            {"benchmark": NAME, "metric": f"requests per text search, {label}", "value": r["search_requests"],
             "unit": "requests", "goal": None, "ok": None},
            {"benchmark": NAME, "metric": f"items read per text search, {label}", "value": r["search_items"],
             "unit": "items", "goal": None, "ok": None},
        ]
    small, large = results[0], results[-1]
    span = f"{large['n']:,} ÷ {small['n']:,}"
    for metric, key in (("requests", "requests"), ("items read", "items"), ("latency", "p50_ms")):
        ratio = large[key] / small[key]
        rows.append({"benchmark": NAME, "metric": f"{metric} ratio {span}", "value": ratio, "unit": "×",
                     "goal": f"≤ {GOAL}", "ok": ratio <= GOAL})
    return rows


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)

"""booking: bookings per second with 16 concurrent clients on distinct slots against one
client (the baseline, measured in the same run), and 64 clients on a one-seat slot.

Runs the real code path (actions.create: branch data through branchLookupQuery, roster,
ledger, day state, KMS seal, one DynamoDB transaction, the event on the notify queue)
in-process against moto, with DynamoDB's per-request atomicity (resources.serialize_requests).
Each measurement starts from a fresh, empty account and makes the same number of bookings
(moto copies every table for each transaction, so the cost of a booking grows with the
bookings before it).
"""
from __future__ import annotations

import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from bench import moto_account

NAME = "booking"
# Monday 2026-11-30 08:00 in Ningbo: two weeks of weekday and Saturday slots ahead
NOW = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
WEEKDAY = [["09:00", "12:00"], ["13:30", "17:00"]]
BRANCH = {
    "id": "BENCH1", "name": "基准测试支行", "kind": "branch", "address": "宁波市鄞州区测试路1号",
    "district": "鄞州区", "city": "宁波市", "phone": "0574-88888888", "lat": 29.82, "lng": 121.55,
    "services": ["cash", "wealth"], "bookable": True,
    "hours": {d: WEEKDAY for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [["09:00", "12:00"]], "sun": []},
    "exceptions": [],
}


def _seed(seats: int) -> list[str]:
    """The bench branch with `seats` wealth managers; returns its slot starts (ISO)."""
    from functions.booking import service, store
    from infra.local.demo import branch_lookup

    branch_lookup.load(branches=[BRANCH])
    for i in range(seats):
        store.put_manager(BRANCH["id"], service.Manager(f"M{i}", f"经理{i}", frozenset({"wealth"})))
    from functions.common import clock

    return [clock.iso(s) for d in service.bookable_dates(NOW) for s in service.slot_starts(BRANCH, d, NOW)]


def _form(slot: str, mobile: str = "13812345678") -> dict[str, str]:
    """Each customer books with their own number (at most 3 upcoming bookings per number)."""
    return {"branch_id": BRANCH["id"], "service": "wealth", "slot_start": slot, "name": "张三",
            "mobile": mobile, "note": ""}


def _book_distinct(clients: int, per_client: int) -> dict[str, float]:
    """`clients` threads, each booking `per_client` distinct slots for distinct customers."""
    with moto_account.account(NOW):
        from functions.booking import actions

        slots = _seed(1)
        actions.create("warm-up", _form(slots[-1]))  # imports, connections, first KMS key
        jobs = [[slots[c * per_client + i] for i in range(per_client)] for c in range(clients)]
        latencies: list[float] = []
        calls: Counter = Counter()

        def client(c: int) -> None:
            for i, slot in enumerate(jobs[c]):
                started = time.perf_counter()
                actions.create(f"c{c}-{i}", _form(slot, mobile=f"138{c:04d}{i:04d}"))
                latencies.append(time.perf_counter() - started)

        with moto_account.counting(calls), ThreadPoolExecutor(max_workers=clients) as pool:
            started = time.perf_counter()
            list(pool.map(client, range(clients)))
            elapsed = time.perf_counter() - started
        made = clients * per_client
        return {
            "rate": made / elapsed,
            "retries": (calls["TransactWriteItems"] - made) / made,
            "p95_ms": 1000 * statistics.quantiles(latencies, n=20)[-1] if len(latencies) > 1 else 1000 * latencies[0],
        }


def _contention(clients: int = 64) -> dict[str, int]:
    """`clients` customers at once on a one-seat slot."""
    with moto_account.account(NOW):
        from functions.booking import actions, store
        from functions.common import clock
        from functions.common.errors import ApiError

        slots = _seed(1)
        actions.create("warm-up", _form(slots[-1]))

        def attempt(i: int) -> str:
            try:
                actions.create(f"rush{i}", _form(slots[0], mobile=f"1390000{i:04d}"))
                return "booked"
            except ApiError as error:
                return error.code

        with ThreadPoolExecutor(max_workers=clients) as pool:
            outcomes = Counter(pool.map(attempt, range(clients)))
        start = clock.parse_utc(slots[0])
        stored = [b for b in store.on_date(clock.local(start).date(), BRANCH["id"]) if b.slot_start == slots[0]]
        return {"booked": outcomes["booked"], "full": outcomes["slot_full"],
                "other": clients - outcomes["booked"] - outcomes["slot_full"],
                "counter": store.counter(BRANCH["id"], start, "wealth"), "stored": len(stored)}


def run(quick: bool = False) -> list[dict]:
    bookings = 16 if quick else 48
    baseline = _book_distinct(1, bookings)
    concurrent = _book_distinct(16, bookings // 16)
    ratio = concurrent["rate"] / baseline["rate"]
    rush = _contention(64)
    consistent = rush["counter"] == rush["stored"] == rush["booked"]

    def row(metric, value, unit, goal=None, ok=None):
        return {"benchmark": NAME, "metric": metric, "value": value, "unit": unit, "goal": goal, "ok": ok}

    return [
        row("bookings/s, 1 client (baseline)", round(baseline["rate"], 1), "bookings/s"),
        row("bookings/s, 16 clients on distinct slots", round(concurrent["rate"], 1), "bookings/s"),
        row("16 clients ÷ 1 client", round(ratio, 2), "×", "≥ 0.8 (no collapse under concurrency)", ratio >= 0.8),
        row("transaction retries per booking, 16 clients", round(concurrent["retries"], 3), "retries",
            "0 on distinct slots", concurrent["retries"] == 0),
        row("p95 latency per booking, 16 clients", round(concurrent["p95_ms"], 1), "ms"),
        row("64 on a one-seat slot: booked", rush["booked"], "bookings", "= 1", rush["booked"] == 1),
        row("64 on a one-seat slot: clean 'full' answers", rush["full"], "answers", "= 63", rush["full"] == 63),
        row("64 on a one-seat slot: counter = stored = booked", int(consistent), "bool", "1", consistent),
    ]


if __name__ == "__main__":
    for r in run(quick=True):
        print(r)

"""Nearest branches from geohash cell buckets, with work bounded by local density rather
than by how many branches exist.

Each branch is listed (as a compact `Entry`) in the bucket of its cell at every precision
in LEVELS. A lookup reads, finest level first, the 2×2 block of cells nearest the point (one
batch read per level), and at the coarsest level widens to rings of cells until it has k
answers or the block reaches the radius cap. Entries are released in exact distance order
as soon as no unread cell can hold anything closer, so the result equals a brute-force scan.
"""
from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from functions.branch_lookup.geo import Grid, distance_m

LEVELS = (6, 5, 4)  # ~0.6 km, ~4.9 km, ~19.5 km cells (north-south), finest first
RADIUS_CAP_M = 50_000
MAX_RING = 4  # at the coarsest level: covers RADIUS_CAP_M up to latitude ±70°


@dataclass(frozen=True)
class Entry:
    """What a cell bucket knows of a branch: enough to rank and filter without reading it."""

    id: str
    lat: float
    lng: float
    kind: str
    services: frozenset[str]
    bookable: bool

    def encode(self) -> str:
        services = ",".join(sorted(self.services))
        return f"{self.id}|{self.lat:.6f}|{self.lng:.6f}|{self.kind}|{services}|{int(self.bookable)}"

    @classmethod
    def decode(cls, text: str) -> Entry:
        branch_id, lat, lng, kind, services, bookable = text.split("|")
        return cls(branch_id, float(lat), float(lng), kind, frozenset(filter(None, services.split(","))),
                   bookable == "1")

    @classmethod
    def of(cls, branch: dict[str, Any]) -> Entry:
        return cls(branch["id"], branch["lat"], branch["lng"], branch["kind"], frozenset(branch["services"]),
                   bool(branch["bookable"]))


def cells_of(lat: float, lng: float) -> list[str]:
    """The bucket keys a branch at this point is listed under."""
    return [Grid(p).geohash(lat, lng) for p in LEVELS]


def _stages(lat: float, lng: float) -> Iterator[tuple[Grid, tuple[int, int], tuple[int, int]]]:
    for precision in LEVELS:
        grid = Grid(precision)
        row, col = grid.index(lat, lng)
        frow, fcol = grid.fraction(lat, lng)
        rows = (row - 1, row) if frow < 0.5 else (row, row + 1)
        cols = (col - 1, col) if fcol < 0.5 else (col, col + 1)
        yield grid, rows, cols
    grid = Grid(LEVELS[-1])
    row, col = grid.index(lat, lng)
    for ring in range(1, MAX_RING + 1):
        yield grid, (row - ring, row + ring), (col - ring, col + ring)


def nearest(lat: float, lng: float, fetch: Callable[[list[str]], Iterable[Entry]], *,
            cap_m: float = RADIUS_CAP_M, accept: Callable[[Entry], bool] | None = None,
            ) -> Iterator[tuple[float, Entry]]:
    """Yield (distance in metres, entry), closest first, up to `cap_m`. `fetch` reads the
    buckets of a list of cells (one batch); it is called only when more answers are needed."""
    fetched: set[str] = set()
    seen: set[str] = set()
    heap: list[tuple[float, str, Entry]] = []
    for grid, rows, cols in _stages(lat, lng):
        rows = (max(rows[0], 0), rows[1] if grid.valid_row(rows[1]) else rows[1] - 1)
        keys = {grid.key(r, c) for r in range(rows[0], rows[1] + 1) for c in range(cols[0], cols[1] + 1)}
        new = sorted(keys - fetched)
        fetched.update(new)
        for entry in fetch(new) if new else ():
            if entry.id in seen or (accept and not accept(entry)):
                continue
            seen.add(entry.id)
            heapq.heappush(heap, (distance_m(lat, lng, entry.lat, entry.lng), entry.id, entry))
        reach = min(grid.covered_m(lat, lng, rows, cols), cap_m)
        while heap and heap[0][0] <= reach:
            distance, _id, entry = heapq.heappop(heap)
            yield distance, entry
        if reach >= cap_m:
            return


def k_nearest(lat: float, lng: float, fetch: Callable[[list[str]], Iterable[Entry]], k: int, **kw: Any,
              ) -> list[tuple[float, Entry]]:
    out = []
    for found in nearest(lat, lng, fetch, **kw):
        out.append(found)
        if len(out) >= k:
            break
    return out

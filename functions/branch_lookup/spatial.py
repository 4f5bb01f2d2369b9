"""Where branches are: great-circle distances, geohash grid cells, and the nearest branches
from geohash cell buckets, with work bounded by local density rather than by how many
branches exist.

Cells are geohash cells handled as integer (row, column) pairs, so rings of neighbours are
plain arithmetic; the geohash string is only the storage key (prefix-hierarchical and
readable).

Each branch is listed (as a compact `Entry`) in the bucket of its cell at every precision
in LEVELS. A lookup reads, finest level first, the 2×2 block of cells nearest the point (one
batch read per level), and at the coarsest level widens to rings of cells until it has k
answers or the block reaches the radius cap. Entries are released in exact distance order
as soon as no unread cell can hold anything closer, so the result equals a brute-force scan.
"""
from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

EARTH_RADIUS_M = 6_371_008.8
_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Haversine distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Grid:
    """The geohash grid of one precision (number of characters)."""

    precision: int

    @property
    def lat_bits(self) -> int:
        return self.precision * 5 // 2

    @property
    def lng_bits(self) -> int:
        return (self.precision * 5 + 1) // 2

    @property
    def dlat(self) -> float:
        return 180.0 / (1 << self.lat_bits)

    @property
    def dlng(self) -> float:
        return 360.0 / (1 << self.lng_bits)

    def index(self, lat: float, lng: float) -> tuple[int, int]:
        """(row, column) of the cell holding the point."""
        row = min(int((lat + 90.0) / self.dlat), (1 << self.lat_bits) - 1)
        col = min(int((lng + 180.0) / self.dlng), (1 << self.lng_bits) - 1)
        return row, col

    def fraction(self, lat: float, lng: float) -> tuple[float, float]:
        """Where the point lies inside its cell, 0..1 along each axis."""
        return ((lat + 90.0) / self.dlat) % 1.0, ((lng + 180.0) / self.dlng) % 1.0

    def key(self, row: int, col: int) -> str:
        """The geohash of a cell; columns wrap around the antimeridian."""
        col %= 1 << self.lng_bits
        bits = 0
        for i in range(self.precision * 5):
            if i % 2 == 0:
                bit = (col >> (self.lng_bits - 1 - i // 2)) & 1
            else:
                bit = (row >> (self.lat_bits - 1 - i // 2)) & 1
            bits = (bits << 1) | bit
        return "".join(_BASE32[(bits >> (5 * (self.precision - 1 - n))) & 31] for n in range(self.precision))

    def geohash(self, lat: float, lng: float) -> str:
        return self.key(*self.index(lat, lng))

    def valid_row(self, row: int) -> bool:
        return 0 <= row < (1 << self.lat_bits)

    def covered_m(self, lat: float, lng: float, rows: tuple[int, int], cols: tuple[int, int]) -> float:
        """Distance from a point inside the block of cells rows×cols (inclusive) to the block's
        edge: every point outside the block is at least this far away."""
        lat_lo, lat_hi = rows[0] * self.dlat - 90.0, (rows[1] + 1) * self.dlat - 90.0
        lng_lo, lng_hi = cols[0] * self.dlng - 180.0, (cols[1] + 1) * self.dlng - 180.0
        # a block touching a pole or wrapping the globe has no edge on that side
        to_south = lat - lat_lo if rows[0] > 0 else 180.0
        to_north = lat_hi - lat if rows[1] < (1 << self.lat_bits) - 1 else 180.0
        to_parallel = min(to_south, to_north)
        along_meridian = math.radians(to_parallel) * EARTH_RADIUS_M
        dl = min(lng - lng_lo, lng_hi - lng) if cols[1] - cols[0] + 1 < (1 << self.lng_bits) else 180.0
        if dl >= 90.0:
            return along_meridian
        # shortest distance to a meridian dl degrees away (a great circle through the poles)
        to_meridian = EARTH_RADIUS_M * math.asin(math.sin(math.radians(dl)) * math.cos(math.radians(lat)))
        return max(0.0, min(along_meridian, to_meridian))


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

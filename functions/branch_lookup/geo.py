"""Geometry for branch lookup: great-circle distances, geohash grid cells and datum
conversion.

Cells are geohash cells handled as integer (row, column) pairs, so rings of neighbours are
plain arithmetic; the geohash string is only the storage key (prefix-hierarchical and
readable). Datums go through prcoords; everything stored is GCJ-02.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8
_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
DATUMS = ("gcj02", "wgs84", "bd09")


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


def to_gcj02(lat: float, lng: float, datum: str) -> tuple[float, float]:
    """Convert a point from `datum` (gcj02, wgs84 or bd09) to GCJ-02 (precise inverses for
    the datums GCJ-02 is derived from)."""
    import prcoords

    if datum == "gcj02":
        return lat, lng
    if datum == "wgs84":
        out = prcoords.wgs_gcj((lat, lng), check_china=False)
    elif datum == "bd09":
        out = prcoords.bd_gcj_bored((lat, lng), check_china=False)
    else:
        raise ValueError(f"unknown datum {datum!r}")
    return out.lat, out.lon


def from_gcj02(lat: float, lng: float, datum: str) -> tuple[float, float]:
    """Convert a GCJ-02 point to `datum`."""
    import prcoords

    if datum == "gcj02":
        return lat, lng
    if datum == "wgs84":
        out = prcoords.gcj_wgs_bored((lat, lng), check_china=False)
    elif datum == "bd09":
        out = prcoords.gcj_bd((lat, lng))
    else:
        raise ValueError(f"unknown datum {datum!r}")
    return out.lat, out.lon

"""Geohash cells and the covered-radius bound the index relies on; the spatial index returns
exactly what a brute-force scan returns, including for points on either side of cell edges
at every level, and reads only a bounded number of cells."""
from __future__ import annotations

import random
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.branch_lookup.spatial import LEVELS, RADIUS_CAP_M, Entry, Grid, cells_of, distance_m, k_nearest
from tests.branch_lookup.conftest import make_branch

ORIGIN = (29.87, 121.55)


def test_geohash_matches_the_published_algorithm():
    assert Grid(11).geohash(57.64911, 10.40744) == "u4pruydqqvj"
    assert Grid(5).geohash(29.87, 121.55) == "wtq3v"


def test_cells_nest_across_precisions():
    assert Grid(6).geohash(29.87, 121.55).startswith(Grid(4).geohash(29.87, 121.55))


@given(lat=st.floats(-80, 80), lng=st.floats(-179, 179), dlat=st.floats(-0.3, 0.3), dlng=st.floats(-0.3, 0.3),
       precision=st.sampled_from([4, 5, 6]), ring=st.integers(0, 2))
@settings(max_examples=300, deadline=None)
def test_points_outside_a_block_are_at_least_the_covered_radius_away(lat, lng, dlat, dlng, precision, ring):
    grid = Grid(precision)
    row, col = grid.index(lat, lng)
    rows, cols = (row - ring, row + ring), (col - ring, col + ring)
    other_row, other_col = grid.index(lat + dlat, lng + dlng)
    if rows[0] <= other_row <= rows[1] and cols[0] <= other_col <= cols[1]:
        return  # inside the block: no claim
    assert distance_m(lat, lng, lat + dlat, lng + dlng) >= grid.covered_m(lat, lng, rows, cols) - 1e-6


def corner(precision: int, drow: int, dcol: int) -> tuple[float, float]:
    """A cell corner near Ningbo: where four cells of this precision meet."""
    grid = Grid(precision)
    row, col = grid.index(*ORIGIN)
    return (row + drow) * grid.dlat - 90.0, (col + dcol) * grid.dlng - 180.0


@st.composite
def near_edges(draw):
    """A point close to a cell corner of some level, or anywhere in the region."""
    if draw(st.booleans()):
        base = corner(draw(st.sampled_from(LEVELS)), draw(st.integers(-2, 2)), draw(st.integers(-2, 2)))
        jitter = st.floats(-0.002, 0.002)
        return round(base[0] + draw(jitter), 6), round(base[1] + draw(jitter), 6)
    return round(draw(st.floats(29.3, 30.4)), 6), round(draw(st.floats(121.0, 122.1)), 6)


def index(points):
    buckets = defaultdict(list)
    entries = []
    for n, (lat, lng) in enumerate(points):
        entry = Entry(f"B{n}", lat, lng, "branch", frozenset({"atm"} if n % 3 else set()), n % 2 == 0)
        entries.append(entry)
        for cell in cells_of(lat, lng):
            buckets[cell].append(entry)
    return entries, buckets


def brute(entries, lat, lng, k, accept=lambda e: True):
    ranked = sorted((distance_m(lat, lng, e.lat, e.lng), e.id) for e in entries if accept(e))
    return [r for r in ranked if r[0] <= RADIUS_CAP_M][:k]


@given(points=st.lists(near_edges(), min_size=0, max_size=60), where=near_edges(), k=st.integers(1, 20),
       only_atm=st.booleans())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_nearest_k_equals_brute_force(points, where, k, only_atm):
    entries, buckets = index(points)
    accept = (lambda e: "atm" in e.services) if only_atm else None

    def fetch(cells):
        return [e for c in cells for e in buckets.get(c, [])]

    got = k_nearest(*where, fetch, k, accept=accept)
    assert [(d, e.id) for d, e in got] == brute(entries, *where, k, accept or (lambda e: True))


def test_far_away_finds_nothing_and_stops_at_the_cap():
    entries, buckets = index([ORIGIN])
    calls = []

    def fetch(cells):
        calls.append(len(cells))
        return [e for c in cells for e in buckets.get(c, [])]

    assert k_nearest(39.9, 116.4, fetch, 3) == []  # Beijing
    assert len(calls) <= len(LEVELS) + 4
    assert sum(calls) <= 4 * len(LEVELS) + 7 * 7


def test_reads_are_bounded_by_density_not_by_size():
    """The same lookup against 1 000 and 30 000 branches over the same area reads no more
    batches from the larger set."""
    rng = random.Random(7)
    batches = {}
    for n in (1_000, 30_000):
        entries, buckets = index([(rng.uniform(29.3, 30.4), rng.uniform(121.0, 122.1)) for _ in range(n)])
        calls = []

        def fetch(cells):
            calls.append(cells)
            return [e for c in cells for e in buckets.get(c, [])]

        for _ in range(20):
            k_nearest(rng.uniform(29.5, 30.2), rng.uniform(121.2, 121.9), fetch, 3)
        batches[n] = len(calls)
    assert batches[30_000] <= batches[1_000]


def test_store_nearest_equals_brute_force_on_random_data(aws):
    """End to end through DynamoDB (moto): random branches around cell corners, random
    points, every index level."""
    from functions.branch_lookup import service, store
    from infra.local.demo import branch_lookup

    rng = random.Random(11)
    points = []
    for _ in range(120):
        base = corner(rng.choice(LEVELS), rng.randint(-1, 1), rng.randint(-1, 1))
        points.append((round(base[0] + rng.uniform(-0.01, 0.01), 6), round(base[1] + rng.uniform(-0.01, 0.01), 6)))
    points += [(round(rng.uniform(29.3, 30.4), 6), round(rng.uniform(121.0, 122.1), 6)) for _ in range(40)]
    branch_lookup.load([make_branch(f"R{n}", lat, lng) for n, (lat, lng) in enumerate(points)])
    for _ in range(25):
        lat, lng = points[rng.randrange(len(points))]
        lat, lng = lat + rng.uniform(-0.005, 0.005), lng + rng.uniform(-0.005, 0.005)
        k = rng.randint(1, 8)
        got = [(round(f.distance_m, 6), f.branch["id"]) for f in service.nearby(store, lat, lng, k)]
        expected = sorted((distance_m(lat, lng, a, b), f"R{n}") for n, (a, b) in enumerate(points))[:k]
        assert got == [(round(d, 6), i) for d, i in expected]


def test_moving_a_branch_moves_it_in_the_index(aws):
    from functions.branch_lookup import service, store
    from infra.local.demo import branch_lookup

    branch_lookup.load([make_branch("M1", 29.87, 121.55), make_branch("M2", 29.90, 121.60)])
    assert service.nearby(store, 29.87, 121.55, 1)[0].branch["id"] == "M1"
    branch_lookup.load([make_branch("M1", 30.17, 121.27)])  # to Cixi
    assert service.nearby(store, 29.87, 121.55, 1)[0].branch["id"] == "M2"
    assert service.nearby(store, 30.17, 121.27, 1)[0].branch["id"] == "M1"
    assert [f.branch["id"] for f in service.nearby(store, 29.87, 121.55, 5)] == ["M2", "M1"]

"""Geohash cells, the covered-radius bound the index relies on, and datum round trips."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.branch_lookup.geo import DATUMS, Grid, distance_m, from_gcj02, to_gcj02

china_lat = st.floats(min_value=18.5, max_value=53.0)
china_lng = st.floats(min_value=74.0, max_value=134.0)


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


@pytest.mark.parametrize("datum", DATUMS)
@given(lat=china_lat, lng=china_lng)
@settings(max_examples=100, deadline=None)
def test_datum_round_trip_is_within_centimetres(datum, lat, lng):
    there = from_gcj02(lat, lng, datum)
    back = to_gcj02(*there, datum)
    assert distance_m(lat, lng, *back) < 0.05


def test_datums_differ_by_the_known_offsets_in_ningbo():
    gcj = (29.8706, 121.5528)
    wgs = from_gcj02(*gcj, "wgs84")
    bd = from_gcj02(*gcj, "bd09")
    # GCJ-02 is a few hundred metres off WGS-84 in Ningbo; BD-09 another ~1 km
    assert 300 < distance_m(*gcj, *wgs) < 800
    assert 500 < distance_m(*gcj, *bd) < 1500
    assert not math.isclose(wgs[0], bd[0])


def test_unknown_datum_is_refused():
    with pytest.raises(ValueError):
        to_gcj02(29.0, 121.0, "utm")

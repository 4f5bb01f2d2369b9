"""Branches coming in: datum round trips, and the CSV import (row-by-row validation, datum
conversion, upsert by id, all or nothing)."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from functions.branch_lookup import importing
from functions.branch_lookup.importing import DATUMS, from_gcj02, to_gcj02
from functions.branch_lookup.spatial import distance_m

HEADER = "id,name,kind,address,district,city,phone,lat,lng,datum,services,bookable,hours,exceptions\n"
GOOD = ('NB901,甬城银行测试支行,支行,宁波市海曙区测试路1号,海曙区,宁波市,0574-87001234,29.8706,121.5528,,'
        '"cash;atm;理财",是,"mon-fri 09:00-12:00,13:30-17:00; sat 09:00-12:00",'
        '"2026-10-01 closed 国庆节休息; 2026-10-10 09:00-12:00 调休上班"\n')


china_lat = st.floats(min_value=18.5, max_value=53.0)
china_lng = st.floats(min_value=74.0, max_value=134.0)


def rows(text: str, datum: str = "gcj02"):
    return list(importing.read(text.splitlines(keepends=True), datum))


def test_a_good_row():
    [(line, branch, rejected)] = rows(HEADER + GOOD)
    assert rejected is None and line == 2
    assert branch["kind"] == "branch" and branch["services"] == ["cash", "atm", "wealth"] and branch["bookable"]
    assert branch["hours"]["sat"] == [["09:00", "12:00"]] and branch["hours"]["sun"] == []
    assert branch["exceptions"][1] == {"date": "2026-10-10", "hours": [["09:00", "12:00"]], "note": "调休上班"}


@pytest.mark.parametrize(("change", "field", "code"), [
    (("NB901", "NB 901"), "id", "invalid_id"),
    ((",支行,", ",银行,"), "kind", "unknown_kind"),
    (("29.8706", "129.8706"), "lat", "out_of_range"),
    (("121.5528", "东经121"), "lng", "invalid_number"),
    ((",,\"cash", ",gps,\"cash"), "datum", "unknown_datum"),
    (("cash;atm", "cash;gold"), "services", "unknown_service"),
    (("是", "maybe"), "bookable", "invalid_bool"),
    (("mon-fri 09:00-12:00", "mon-fri 12:00-09:00"), "hours", "bad_interval"),
    (("mon-fri 09:00-12:00,13:30", "mon-fri 09:00-14:00,13:30"), "hours", "overlap"),
    (("mon-fri", "weekdays"), "hours", "invalid"),
    (("2026-10-01 closed", "2026-13-01 closed"), "exceptions", "invalid_date"),
    (("0574-87001234", "call me"), "phone", "invalid_phone"),
    (("甬城银行测试支行", ""), "name", "required"),
])
def test_each_bad_field_is_reported(change, field, code):
    [(_line, branch, rejected)] = rows(HEADER + GOOD.replace(*change, 1))
    assert branch is None and (field, code) in {(e.field, e.code) for e in rejected.errors}


def test_duplicate_ids_reject_the_later_row():
    found = rows(HEADER + GOOD + GOOD)
    assert found[0][2] is None and found[1][2].errors[0].code == "duplicate" and "第2行" in found[1][2].reasons()


def test_missing_columns_stop_the_file():
    with pytest.raises(ValueError, match="lat"):
        rows("id,name,kind,address,district,lng\n")


@pytest.mark.parametrize("datum", ["wgs84", "bd09"])
def test_other_datums_are_converted_to_gcj02(datum):
    lat, lng = from_gcj02(29.8706, 121.5528, datum)
    line = GOOD.replace("29.8706,121.5528,", f"{lat:.7f},{lng:.7f},{datum.upper()}")
    [(_line, branch, _)] = rows(HEADER + line)
    assert distance_m(branch["lat"], branch["lng"], 29.8706, 121.5528) < 0.5
    # the --datum flag applies to rows that do not say
    [(_line, flagged, _)] = rows(HEADER + GOOD.replace("29.8706,121.5528,", f"{lat:.7f},{lng:.7f},"), datum)
    assert distance_m(flagged["lat"], flagged["lng"], 29.8706, 121.5528) < 0.5


def invoke(tmp_path, text, *args):
    from infra.cli.branch_import import app

    path = tmp_path / "branches.csv"
    path.write_text(text, encoding="utf-8")
    return CliRunner().invoke(app, ["import", str(path), *args])


def test_cli_imports_and_upserts_by_id(aws, tmp_path):
    from functions.branch_lookup import store

    second = GOOD.replace("NB901", "NB902").replace("29.8706", "29.9000")
    result = invoke(tmp_path, HEADER + GOOD + second)
    assert result.exit_code == 0, result.output
    assert "已导入 2 个网点" in result.output
    renamed = GOOD.replace("甬城银行测试支行", "甬城银行新名字支行")
    assert invoke(tmp_path, HEADER + renamed).exit_code == 0
    assert [b["name"] for b in store.get(["NB901", "NB902"])] == ["甬城银行新名字支行", "甬城银行测试支行"]
    assert len(store.catalogue()) == 2


def test_cli_writes_nothing_when_a_row_is_rejected(aws, tmp_path):
    from functions.branch_lookup import store

    bad = GOOD.replace("NB901", "NB903").replace("29.8706", "95")
    result = invoke(tmp_path, HEADER + GOOD + bad)
    assert result.exit_code == 1
    assert "NB903" in result.output and "lat" in result.output and "未写入任何数据" in result.output
    assert store.catalogue() == []
    result = invoke(tmp_path, HEADER + GOOD + bad, "--skip-invalid")
    assert result.exit_code == 0 and [b["id"] for b in store.catalogue()] == ["NB901"]


def test_cli_dry_run_and_bad_flag(aws, tmp_path):
    from functions.branch_lookup import store

    assert invoke(tmp_path, HEADER + GOOD, "--dry-run").exit_code == 0
    assert store.catalogue() == []
    assert invoke(tmp_path, HEADER + GOOD, "--datum", "utm").exit_code != 0


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

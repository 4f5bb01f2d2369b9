"""The operator's commands (`products import`, `products net-values`) and the nightly
publication: nothing is written when a row is refused; staged values become the products'
net values at night, documents keep every version."""
from __future__ import annotations

import csv
import json
from datetime import date

from typer.testing import CliRunner

from functions.products import actions, service, store
from infra.cli.products import app
from infra.local import slsconfig
from infra.local.demo import products as demo
from tests.products.conftest import MONDAY_10AM, row


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def write_json(tmp_path, rows, name="catalogue.json"):
    path = tmp_path / name
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return str(path)


def write_csv(tmp_path, rows, name="catalogue.csv"):
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def test_json_and_csv_import_the_same_catalogue(world, tmp_path):
    assert run("import", write_json(tmp_path, [row(), row(code="WM0182", term_days=182)])).exit_code == 0
    assert sorted(i.sk for i in store.catalogue()) == ["WM0091", "WM0182"]
    done = run("import", write_csv(tmp_path, [row(code="CSV001", name="表格导入")]))
    assert done.exit_code == 0 and "已导入 1 个理财产品" in done.output
    assert store.get("CSV001").name == "表格导入" and int(store.get("CSV001").quota_fen) == 10_000_000_00


def test_a_refused_row_writes_nothing_and_names_its_fields(world, tmp_path):
    result = run("import", write_json(tmp_path, [row(), row(code="BAD1", risk="R7", min_purchase_fen=-5)]))
    assert result.exit_code == 1
    assert "risk" in result.output and "min_purchase_fen" in result.output and "未写入任何数据" in result.output
    assert store.catalogue() == []
    assert run("import", "--dry-run", write_json(tmp_path, [row()])).exit_code == 0
    assert store.catalogue() == []
    bad = tmp_path / "x.txt"
    bad.write_text("[]", encoding="utf-8")
    assert run("import", str(bad)).exit_code == 2


def test_documents_keep_every_version(world, tmp_path):
    run("import", write_json(tmp_path, [row()]))
    run("import", write_json(tmp_path, [row(documents_version="v2", risk_disclosure="新版风险揭示书")]))
    assert store.get("WM0091").documents["risk_disclosure"] == "v2"
    assert store.document("WM0091", "risk_disclosure", "v1").text == "风险揭示书正文"
    assert store.document("WM0091", "risk_disclosure", "v2").text == "新版风险揭示书"
    run("import", write_json(tmp_path, [row(risk_disclosure="改过的旧版本")]))  # a version is never rewritten
    assert store.document("WM0091", "risk_disclosure", "v1").text == "风险揭示书正文"


def test_net_values_are_staged_then_published_by_the_nightly_schedule(world, tmp_path, frozen_clock):
    from functions.products.app import net_values

    run("import", write_json(tmp_path, [row()]))
    values = [{"code": "WM0091", "date": d, "nav": n} for d, n in
              (("2026-11-27", "1.0010"), ("2026-11-30", "1.0030"), ("2026-12-01", "1.0040"))]
    staged = run("net-values", write_csv(tmp_path, values, "navs.csv"))
    assert staged.exit_code == 0 and "已暂存 3 条净值" in staged.output
    assert store.history("WM0091", 10) == [] and store.get("WM0091").last_nav_e4 is None
    assert net_values({"job": "products_net_values"}, None) == {"published": 2}  # Monday: not Tuesday's yet
    assert [v.nav_e4 for v in store.history("WM0091", 10)] == [10_010, 10_030]
    assert int(store.get("WM0091").last_nav_e4) == 10_030 and store.get("WM0091").last_nav_date == "2026-11-30"
    run("net-values", write_json(tmp_path, [{"code": "WM0091", "date": "2026-11-26", "nav": "0.9990"}], "old.json"))
    frozen_clock(MONDAY_10AM.replace(day=1, month=12))
    assert net_values({}, None) == {"published": 2}
    assert [v.day.isoformat() for v in store.history("WM0091", 10)][0] == "2026-11-26"
    assert store.get("WM0091").last_nav_date == "2026-12-01"  # a late older value is history only
    assert net_values({}, None) == {"published": 0}


def test_a_back_filled_history_is_published_in_batches(world, tmp_path, frozen_clock):
    from collections import Counter
    from datetime import timedelta

    from functions.common import aws

    frozen_clock(MONDAY_10AM)
    run("import", write_json(tmp_path, [row()]))
    days = [MONDAY_10AM.date() - timedelta(days=n) for n in range(60, 0, -1)]
    store.stage(service.NetValue("WM0091", day, 10_000 + n) for n, day in enumerate(days))
    calls: Counter = Counter()
    count = lambda model, **_: calls.update([model.name])  # noqa: E731
    aws.dynamodb().meta.events.register("before-call.dynamodb", count)
    try:
        assert actions.publish_net_values() == 60
    finally:
        aws.dynamodb().meta.events.unregister("before-call.dynamodb", count)
    assert calls == {"Query": 1, "BatchWriteItem": 6, "UpdateItem": 1}  # 720 requests, one by one, before
    assert len(store.history("WM0091", 100)) == 60 and store.staged_until(MONDAY_10AM.date()) == []
    assert store.get("WM0091").last_nav_date == days[-1].isoformat() and int(store.get("WM0091").last_nav_e4) == 10_059


def test_net_values_of_unknown_products_or_bad_rows_stage_nothing(world, tmp_path):
    run("import", write_json(tmp_path, [row()]))
    unknown = run("net-values", write_json(tmp_path, [{"code": "WM0091", "date": "2026-11-30", "nav": "1.1"},
                                                      {"code": "NOPE01", "date": "2026-11-30", "nav": "1.1"}]))
    assert unknown.exit_code == 1 and "NOPE01" in unknown.output
    bad = run("net-values", write_json(tmp_path, [{"code": "WM0091", "date": "2026-11-30", "nav": "-1"}]))
    assert bad.exit_code == 1 and "nav" in bad.output
    assert actions.publish_net_values() == 0


def test_the_schedule_runs_at_ten_in_the_evening_shanghai_time():
    schedule = slsconfig.load("local").functions["productsNetValues"].events[0]["schedule"]
    assert schedule["rate"] == "cron(0 22 * * ? *)" and schedule["timezone"] == "Asia/Shanghai"


def test_demo_products_are_on_sale_with_a_history_and_load_twice(world):
    assert demo.load() == len(demo.PRODUCTS)
    assert demo.load() == len(demo.PRODUCTS)
    listed = actions.catalogue()
    assert len(listed) == len(demo.PRODUCTS)
    _, history = actions.product("YC7001")
    assert len(history) == demo.HISTORY_DAYS and history[-1].day.isoformat() == "2026-11-29"


def test_the_catalogue_pages_read_agrees_with_the_products_model(world, tmp_path):
    """listing.py reads the catalogue without PynamoDB: what it makes of every product is
    what the model (store.ProductItem) makes of it, net values included."""
    from functions.products import listing

    run("import", write_json(tmp_path, [row(), row(code="WM0182", term_days=182)]))
    store.stage([service.NetValue("WM0091", date(2026, 11, 27), 10_012)])
    store.publish(store.staged_until(date(2026, 11, 27)))
    assert [(found.product, found.nav_e4, found.nav_date) for found in listing.catalogue()] == [
        (item.product(), int(item.last_nav_e4) if item.last_nav_e4 else None, item.last_nav_date)
        for item in store.catalogue()]
    assert listing.catalogue()[0].nav_e4 == 10_012

"""`products import FILE` (JSON list or CSV with a header row): the wealth catalogue, every
field of every row checked before anything is written; rejected rows are listed with their
reasons and nothing is written. `products net-values FILE`: the day's net values (code, date,
nav), staged for the nightly publication (the productsNetValues schedule). `products
agreement FILE --version V`: a new version of the mobile wealth-management agreement."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Wealth products.", no_args_is_help=True, add_completion=False)
console = Console()
FILE = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="JSON (a list of objects) or CSV (UTF-8).")


@app.callback()
def products() -> None:
    """Wealth products (a group, so each command stays a subcommand however it is mounted)."""


def rows(path: Path) -> list[Any]:
    """The file's rows: a JSON list, or a CSV's rows as {column: text}."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            found = json.loads(text)
        except ValueError as error:
            raise typer.BadParameter(f"not JSON: {error}", param_hint="FILE") from None
        if not isinstance(found, list):
            raise typer.BadParameter("a JSON file holds a list of objects", param_hint="FILE")
        return found
    if path.suffix.lower() == ".csv":
        return list(csv.DictReader(text.splitlines()))
    raise typer.BadParameter("use a .json or .csv file", param_hint="FILE")


def _refuse(rejected: list[tuple[int, str, list]]) -> None:
    table = Table(title=f"被拒绝的行（{len(rejected)}）")
    for column in ("行", "代码", "字段", "原因"):
        table.add_column(column)
    for number, code, errors in rejected:
        for error in errors:
            table.add_row(str(number), code or "-", error.field, f"{error.code}: {error.message}")
    console.print(table)
    console.print("未写入任何数据。")
    raise typer.Exit(1)


@app.command("import")
def import_products(
    path: Path = FILE,
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row, write nothing."),
) -> None:
    """Upsert products by code, with their documents at the file's version."""
    from functions.products import actions, service

    valid, rejected = service.read_catalogue(rows(path))
    if rejected:
        _refuse(rejected)
    if dry_run:
        console.print(f"{len(valid)} 个产品检查通过；未写入任何数据。")
        return
    console.print(f"已导入 {actions.import_catalogue(valid)} 个理财产品。")


@app.command()
def agreement(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="The text (UTF-8)."),
    version: str = typer.Option(..., "--version", help="e.g. 2026.1; a version's text never changes."),
) -> None:
    """Publish a version of the mobile wealth-management agreement: customers who accepted
    an earlier one are asked again before their next purchase."""
    from functions.products import store, suitability

    text = path.read_text(encoding="utf-8-sig").strip()
    problem = suitability.agreement_problem(version, text)
    if problem:
        console.print(f"[red]{problem}[/red]；未写入任何数据。")
        raise typer.Exit(1)
    if not store.publish_agreement(version, text):
        console.print(f"[red]版本 {version} 已存在且内容不同；请使用新的版本号。[/red]")
        raise typer.Exit(1)
    console.print(f"已发布协议版本 {version}。")


@app.command("net-values")
def net_values(path: Path = FILE) -> None:
    """Stage net values for the nightly publication."""
    from functions.common.errors import ValidationFailed
    from functions.products import actions, service

    values, rejected = [], []
    for number, row in enumerate(rows(path), 1):
        try:
            values.append(service.read_net_value(row if isinstance(row, dict) else {}))
        except ValidationFailed as error:
            rejected.append((number, str(row.get("code", "")) if isinstance(row, dict) else "", error.fields))
    if rejected:
        _refuse(rejected)
    staged, unknown = actions.stage_net_values(values)
    if unknown:
        console.print(f"[red]未知的产品代码：{', '.join(unknown)}[/red]；未写入任何数据。")
        raise typer.Exit(1)
    console.print(f"已暂存 {staged} 条净值，将于当晚22:00发布。")

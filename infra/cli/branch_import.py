"""`branch-import import FILE.csv`: load branches from a spreadsheet. Every row is checked
before anything is written; rejected rows are listed with their reasons and, unless
--skip-invalid, nothing is written at all. Rows are upserted by id."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

app = typer.Typer(help="Branch data.", no_args_is_help=True, add_completion=False)
CHUNK = 500


@app.callback()
def branches() -> None:
    """Branch data (a group, so `import` stays a subcommand however the app is mounted)."""


@app.command("import")
def import_branches(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV file (UTF-8)."),
    datum: str = typer.Option("gcj02", help="Datum of rows without a `datum` column: gcj02, wgs84 or bd09."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Write the valid rows even if some are rejected."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row, write nothing."),
) -> None:
    from functions.branch_lookup import importing, store

    console = Console()
    default = importing.normalise_datum(datum)
    if default is None:
        raise typer.BadParameter("use gcj02, wgs84 or bd09", param_hint="--datum")
    text = path.read_text(encoding="utf-8-sig")
    total = max(0, len(text.splitlines()) - 1)
    valid, rejected = [], []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        checking = progress.add_task("检查", total=total)
        try:
            for _line, branch, rejection in importing.read(text.splitlines(keepends=True), default):
                if branch:
                    valid.append(branch)
                else:
                    rejected.append(rejection)
                progress.advance(checking)
        except ValueError as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(2) from None
        progress.update(checking, total=len(valid) + len(rejected))
        if rejected:
            _report(console, rejected)
        if (rejected and not skip_invalid) or dry_run:
            console.print(f"{len(valid)} 行有效，{len(rejected)} 行被拒绝；未写入任何数据。")
            raise typer.Exit(1 if rejected else 0)
        writing = progress.add_task("写入", total=len(valid))
        for start in range(0, len(valid), CHUNK):
            chunk = valid[start:start + CHUNK]
            store.save_all(chunk)
            progress.advance(writing, len(chunk))
    console.print(f"已导入 {len(valid)} 个网点" + (f"，拒绝 {len(rejected)} 行。" if rejected else "。"))


def _report(console: Console, rejected: list) -> None:
    table = Table(title=f"被拒绝的行（{len(rejected)}）")
    table.add_column("行", justify="right")
    table.add_column("编号")
    table.add_column("原因")
    for item in rejected:
        table.add_row(str(item.line), item.id or "-", item.reasons())
    console.print(table)

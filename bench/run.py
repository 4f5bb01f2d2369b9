"""`make bench`: run every bench/<name>.py, write bench/results.json, the README table and
plots in docs/bench/. Each module's `run(quick)` compares against a baseline measured in
the same run, so the figures are ratios that survive a noisy machine."""
from __future__ import annotations

import argparse
import importlib
import json
import platform
import re
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = ("webhook", "cold_start", "branch_lookup", "booking", "notify", "products")
RESULTS = ROOT / "bench" / "results.json"
README = ROOT / "README.md"
PLOTS = ROOT / "docs" / "bench"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def table(rows: list[dict]) -> str:
    lines = ["| benchmark | metric | value | goal | met |", "|---|---|---|---|---|"]
    for r in rows:
        met = {True: "yes", False: "**no**", None: ""}[r.get("ok")]
        unit = f" {r['unit']}" if r.get("unit") else ""
        lines.append(f"| {r['benchmark']} | {r['metric']} | {_fmt(r['value'])}{unit} | {r.get('goal') or ''} | {met} |")
    return "\n".join(lines)


def plot(rows: list[dict]) -> None:
    """One bar chart per benchmark of its numeric metrics."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plots", file=sys.stderr)
        return
    PLOTS.mkdir(parents=True, exist_ok=True)
    for name in sorted({r["benchmark"] for r in rows}):
        mine = [r for r in rows if r["benchmark"] == name and isinstance(r["value"], (int, float))]
        if not mine:
            continue
        fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(mine)))
        labels = [f"{r['metric']} ({r.get('unit') or ''})" for r in mine]
        colors = ["#07c160" if r.get("ok") is not False else "#fa5151" for r in mine]
        ax.barh(labels, [r["value"] for r in mine], color=colors)
        ax.set_xscale("symlog")
        ax.invert_yaxis()
        ax.set_title(name)
        fig.tight_layout()
        fig.savefig(PLOTS / f"{name}.png", dpi=110)
        plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("only", nargs="*", help="benchmark modules to run (default: all)")
    args = parser.parse_args()
    rows: list[dict] = []
    failed = []
    for name in args.only or MODULES:
        started = time.time()
        print(f"== {name}", flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            got = module.run(quick=args.quick)
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            failed.append(name)
            continue
        for row in got:
            print(f"   {row['metric']}: {_fmt(row['value'])} {row.get('unit') or ''}  {row.get('goal') or ''}")
        rows.extend(got)
        print(f"   ({time.time() - started:.0f} s)")
    if args.only and RESULTS.exists():  # a partial run keeps the other benchmarks' rows
        ran = {r["benchmark"] for r in rows} | set(failed)
        kept = [r for r in json.loads(RESULTS.read_text())["rows"] if r["benchmark"] not in ran]
        order = {name: i for i, name in enumerate(MODULES)}  # the table keeps one order
        rows = sorted(kept + rows, key=lambda r: order.get(r["benchmark"], len(order)))
    result = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": _cpus()},
        "quick": args.quick,
        "rows": rows,
        "failed": failed,
    }
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if README.exists() and START in README.read_text():
        text = README.read_text()
        text = re.sub(f"{START}.*?{END}", f"{START}\n{table(rows)}\n{END}", text, flags=re.S)
        README.write_text(text)
    plot(rows)
    print(f"results: {RESULTS.relative_to(ROOT)}")
    return 1 if failed else 0


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())

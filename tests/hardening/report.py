"""Renders the hostile-class table of docs/security.md from the figures the hardening tests
wrote (test-artifacts/hardening/*.json), and under it the state-aware schemathesis run per
operation (test-artifacts/hardening/operations/*.json):

    make test   # or: pytest tests/hardening
    python -m tests.hardening.report

Only the part between the table markers changes; the rest of the document is prose."""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "hardening"
DOC = ROOT / "docs" / "security.md"
START, END = "<!-- hardening-table:start -->", "<!-- hardening-table:end -->"
OPS_START, OPS_END = "<!-- operations-table:start -->", "<!-- operations-table:end -->"
# The order rows appear in: by the artifact's name prefix.
ORDER = ("webhook_", "fuzz_", "schemathesis_", "csrf", "sessions", "cross_openid", "staff_key", "staff_roles",
         "faults_", "intent_", "notify_", "data_protection", "rate_")


def rows() -> list[dict]:
    found = [json.loads(p.read_text(encoding="utf-8")) | {"name": p.stem} for p in ARTIFACTS.glob("*.json")]

    def rank(row: dict) -> tuple[int, str]:
        return next((i for i, prefix in enumerate(ORDER) if row["name"].startswith(prefix)), len(ORDER)), row["name"]

    return sorted(found, key=rank)


def table(found: list[dict]) -> str:
    lines = ["| Hostile class | Cases | Outcome | Lost |", "| --- | ---: | --- | ---: |"]
    for row in found:
        outcome = row["outcome"].replace("|", "\\|")
        lines.append(f"| {row['class']} | {row['cases']} | {outcome} | {row['lost']} |")
    total = sum(r["cases"] for r in found)
    lines.append(f"| **All classes** | **{total}** | never a 5xx; nothing stored from a refused request | "
                 f"**{sum(r['lost'] for r in found)}** |")
    return "\n".join(lines)


def operations() -> dict[str, dict]:
    """Per OpenAPI file, per operation: cases, cases aimed at live resources, cases that
    reached the handler's checks, statuses."""
    files = sorted((ARTIFACTS / "operations").glob("*.json"))
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in files}


def operations_table(found: dict[str, dict]) -> str:
    lines = ["| Operation | Cases | On live resources | Reached the handler's checks | Statuses |",
             "| --- | ---: | ---: | ---: | --- |"]
    for spec, ops in found.items():
        for name, row in ops.items():
            statuses = ", ".join(f"{n}×{s}" for s, n in row["statuses"].items())
            lines.append(f"| `{name}` ({spec}) | {row['cases']} | {row['live']} | {row['reached']} | {statuses} |")
    rows_ = [row for ops in found.values() for row in ops.values()]
    lines.append(f"| **{len(rows_)} operations** | **{sum(r['cases'] for r in rows_)}** | "
                 f"**{sum(r['live'] for r in rows_)}** | **{sum(r['reached'] for r in rows_)}** | no 5xx |")
    return "\n".join(lines)


def replace(text: str, start: str, end: str, block: str) -> str:
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    return f"{head}{start}\n{block}\n{end}{tail}"


def main() -> int:
    found = rows()
    if not found:
        print("no figures in test-artifacts/hardening/: run the hardening tests first", file=sys.stderr)
        return 1
    text = replace(DOC.read_text(encoding="utf-8"), START, END, table(found))
    ops = operations()
    if ops:
        text = replace(text, OPS_START, OPS_END, operations_table(ops))
    DOC.write_text(text, encoding="utf-8")
    print(f"{DOC.relative_to(ROOT)}: {len(found)} classes, {sum(r['cases'] for r in found)} cases; "
          f"{sum(len(o) for o in ops.values())} operations")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Renders the hostile-class table of docs/security.md from the figures the hardening tests
wrote (test-artifacts/hardening/*.json):

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
# The order rows appear in: by the artifact's name prefix.
ORDER = ("webhook_", "fuzz_", "schemathesis_", "csrf", "sessions", "cross_openid", "staff_key", "faults_",
         "intent_", "notify_", "data_protection", "rate_")


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


def main() -> int:
    found = rows()
    if not found:
        print("no figures in test-artifacts/hardening/: run the hardening tests first", file=sys.stderr)
        return 1
    text = DOC.read_text(encoding="utf-8")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{START}\n{table(found)}\n{END}{tail}", encoding="utf-8")
    print(f"{DOC.relative_to(ROOT)}: {len(found)} classes, {sum(r['cases'] for r in found)} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make audit`: known vulnerabilities in the pinned requirements (pip-audit) and insecure
patterns in our code (bandit). Fails on any finding that security/ does not explain.

pip-audit asks PyPI's vulnerability data about every pin. When that data cannot be reached
(no network, a registry mirror without the per-release JSON API) the audit is incomplete:
by default that fails, with the reason; `--allow-unreachable` (what `make test` uses) turns
it into a loud warning so an offline test run still tests, while a vulnerability that *was*
found, or any bandit finding, still fails.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REQUIREMENTS = ("requirements/runtime.txt", "requirements/dev.txt")
IGNORE_FILE = ROOT / "security" / "pip-audit-ignore.txt"
BANDIT_RUNS = (  # (config, targets)
    ("security/bandit.yml", ("functions", "infra")),
    ("security/bandit-local.yml", ("infra/local",)),
)


def ignored_vulns() -> dict[str, str]:
    """Advisory id → reason; a line without a reason is an error, never a silent ignore."""
    out: dict[str, str] = {}
    for number, line in enumerate(IGNORE_FILE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        vuln, _, reason = line.partition("#")
        if not reason.strip():
            raise SystemExit(f"{IGNORE_FILE.name}:{number}: {vuln.strip()} has no reason")
        out[vuln.strip()] = reason.strip()
    return out


def pip_audit(timeout_s: float, allow_unreachable: bool) -> bool:
    ignores = ignored_vulns()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        command = [str(BIN / "pip-audit"), "--no-deps", "--disable-pip", "--progress-spinner", "off",
                   "-f", "json", "-o", str(report), "--timeout", "20"]
        for req in REQUIREMENTS:
            command += ["-r", req]
        for vuln in ignores:
            command += ["--ignore-vuln", vuln]
        try:
            run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)  # noqa: S603
        except subprocess.TimeoutExpired:
            return _incomplete(f"pip-audit did not finish in {timeout_s:.0f} s (network?)", allow_unreachable)
        if not report.exists():
            tail = (run.stderr or run.stdout).strip().splitlines()[-3:]
            return _incomplete("pip-audit failed: " + " | ".join(tail), allow_unreachable)
        data = json.loads(report.read_text())
    found = [(d["name"], d["version"], v) for d in data["dependencies"] for v in d.get("vulns", [])
             if v["id"] not in ignores]
    skipped = [d for d in data["dependencies"] if d.get("skip_reason")]
    audited = len(data["dependencies"]) - len(skipped)
    for name, version, vuln in found:
        fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
        print(f"VULNERABLE {name}=={version}: {vuln['id']} ({fixes})")
    for vuln, reason in ignores.items():
        print(f"ignored {vuln}: {reason}")
    print(f"pip-audit: {audited} pins checked, {len(found)} unexplained vulnerabilities, {len(skipped)} not checkable")
    if skipped:
        reason = skipped[0]["skip_reason"]
        ok = _incomplete(f"{len(skipped)} of {len(data['dependencies'])} pins could not be checked, e.g. {reason}",
                         allow_unreachable)
        return ok and not found
    return not found


def _incomplete(why: str, allow_unreachable: bool) -> bool:
    banner = "AUDIT INCOMPLETE: " + why
    if allow_unreachable:
        print(f"WARNING {banner}; run `make audit` where PyPI's vulnerability data is reachable", file=sys.stderr)
        return True
    print(f"ERROR {banner}", file=sys.stderr)
    return False


def bandit() -> bool:
    ok = True
    for cfg, targets in BANDIT_RUNS:
        command = [str(BIN / "bandit"), "-q", "-c", cfg, "-r", *targets]
        run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)  # noqa: S603
        if run.returncode != 0:
            print(run.stdout + run.stderr)
            ok = False
    print(f"bandit: {'no findings' if ok else 'FINDINGS'} ({', '.join(c for c, _ in BANDIT_RUNS)})")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allow-unreachable", action="store_true",
                        help="vulnerability data out of reach is a warning, not a failure")
    parser.add_argument("--timeout", type=float, default=float(os.environ.get("AUDIT_TIMEOUT_S", "300")))
    args = parser.parse_args()
    audit_ok = pip_audit(args.timeout, args.allow_unreachable)
    bandit_ok = bandit()
    return 0 if audit_ok and bandit_ok else 1


if __name__ == "__main__":
    sys.exit(main())

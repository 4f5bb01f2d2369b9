"""`make package`: the template and one zip per function, offline, with their sizes.

Shared with the infra tests, which package the stages the same way.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import zipfile
from pathlib import Path

from scripts.osls import OSLS, ROOT, layer_zip, osls_args, osls_env, service

ZIP_GOAL_BYTES = 200 * 1024


def package(stage: str, out: Path, arch: str = "x86_64", layer: Path | None = None, region: str | None = None,
            params: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`osls package` into `out` (`params` override infra/stages.yml); raises
    CalledProcessError with osls's output on failure."""
    extra = [f"--param={k}={v}" for k, v in sorted((params or {}).items())]
    command = [str(OSLS), "package", *osls_args(stage, arch, layer, region), *extra, "--package", str(out)]
    with service() as directory:
        return subprocess.run(  # noqa: S603 - fixed argv
            command, cwd=directory, env=osls_env(), check=True, capture_output=True, text=True
        )


def template(out: Path) -> dict:
    return json.loads((out / "cloudformation-template-update-stack.json").read_text())


def function_zips(out: Path) -> dict[str, Path]:
    """{function key: zip} of a package directory (the layer zip excluded)."""
    return {p.stem: p for p in sorted(out.glob("*.zip")) if p.stem != "runtime"}


def report(out: Path, layer: Path) -> tuple[str, bool]:
    """A size table of the function zips and the layer; False when a zip is over the goal."""
    lines, ok = [f"{'function':<24}{'zip KB':>10}{'files':>8}"], True
    for key, path in function_zips(out).items():
        size = path.stat().st_size
        with zipfile.ZipFile(path) as archive:
            count = len(archive.namelist())
        flag = "" if size <= ZIP_GOAL_BYTES else "  over the 200 KB goal"
        ok = ok and not flag
        lines.append(f"{key:<24}{size / 1024:>10.1f}{count:>8}{flag}")
    if layer.exists():
        with zipfile.ZipFile(layer) as archive:
            unpacked = sum(i.file_size for i in archive.infolist())
        lines.append(
            f"{'layer ' + layer.name:<24}{layer.stat().st_size / 1024:>10.1f}"
            f"{'':>8}  ({unpacked / 1024 / 1024:.1f} MB unpacked)"
        )
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Package the stack offline and report sizes.")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--arch", default="x86_64", choices=["x86_64", "arm64"])
    parser.add_argument("--region", help="default: AWS_REGION (there is no default region)")
    parser.add_argument("--out", type=Path, help="default: build/package/<stage>")
    args = parser.parse_args(argv)
    # Not .serverless/: osls wipes that scratch directory at the start of every run.
    args.out = args.out or ROOT / "build" / "package" / args.stage
    layer = layer_zip(args.arch)
    try:
        package(args.stage, args.out, args.arch, layer, args.region)
    except subprocess.CalledProcessError as exc:
        sys.stderr.write(exc.stdout + exc.stderr)
        return exc.returncode
    table, ok = report(args.out, layer)
    print(f"packaged {args.stage} into {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    print(table)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Build the one Lambda layer of third-party packages every function uses.

The pins come from requirements/runtime.txt, boto3 and botocore included: the python3.12
Lambda runtime has a boto3 of its own, but of whatever version AWS last put there (it
changes without notice, and differs between regions and partitions); the layer's copy comes
first on the path, so functions run with the SDK the tests ran with. Its cost is the layer's
size (25 MB zipped instead of 8.5, 52 MB unpacked of the 250 MB Lambda allows), not
cold-start time: an import reads one copy either way.

Left out: Chalice's own dependencies. They serve its CLI (click, inquirer, pip, wheel,
setuptools, pyyaml...), while `chalice.app`, the only module a deployed function imports,
needs the standard library alone. A package whose every dependent is left out is left out
too (e.g. `blessed`, via inquirer).

Wheels are the Lambda platform's (manylinux, CPython 3.12, x86_64 or arm64), whatever the
machine building them runs, so the layer can be built on a laptop or in CI alike.

    python scripts/build_layer.py --arch x86_64 --out build/layer/runtime-x86_64.zip
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements" / "runtime.txt"
PYTHON_VERSION = "3.12"

# Packages whose dependencies are needed only by their command-line tools.
CLI_ONLY_DEPENDENCIES = frozenset({"chalice"})

PLATFORMS = {
    "x86_64": ("manylinux2014_x86_64", "manylinux_2_28_x86_64"),
    "arm64": ("manylinux2014_aarch64", "manylinux_2_28_aarch64"),
}

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
_VIA = re.compile(r"^\s+#\s+(?:via\s+)?(\S.*)$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirements(text: str) -> dict[str, tuple[str, set[str]]]:
    """{name: (version, {dependents})} from a `uv pip compile` file with its `# via` notes;
    a top-level requirement has the dependent `-r ...`."""
    pins: dict[str, tuple[str, set[str]]] = {}
    current: str | None = None
    for line in text.splitlines():
        pin = _PIN.match(line)
        if pin:
            current = canonical(pin.group(1))
            pins[current] = (pin.group(2), set())
            continue
        via = _VIA.match(line)
        if via and current:
            parent = via.group(1).strip()
            if parent != "via":
                pins[current][1].add(parent if parent.startswith("-r") else canonical(parent))
    return pins


def layer_packages(pins: dict[str, tuple[str, set[str]]]) -> dict[str, str]:
    """The pins that go into the layer: {name: version}."""
    dropped: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, (_, dependents) in pins.items():
            if name in dropped or not dependents:
                continue
            needed_by = {d for d in dependents if d not in CLI_ONLY_DEPENDENCIES and d not in dropped}
            if not needed_by:
                dropped.add(name)
                changed = True
    return {name: version for name, (version, _) in pins.items() if name not in dropped}


def _platform_options(arch: str) -> list[str]:
    options = []
    for platform in PLATFORMS[arch]:
        options += ["--platform", platform]
    return options + ["--implementation", "cp", "--python-version", PYTHON_VERSION, "--only-binary=:all:"]


def _pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False
    )


def fetch_wheels(packages: dict[str, str], wheelhouse: Path, arch: str) -> None:
    """Lambda-platform wheels for every pin. A pin published only as a source archive is
    built here when it is pure Python (its wheel then fits every platform); anything else
    without a manylinux wheel stops the build."""
    for name, version in sorted(packages.items()):
        pin = f"{name}=={version}"
        got = _pip("download", "--quiet", "--no-deps", *_platform_options(arch), "-d", str(wheelhouse), pin)
        if got.returncode == 0:
            continue
        built = _pip("wheel", "--quiet", "--no-deps", "-w", str(wheelhouse), pin)
        wheels = [w.name for w in wheelhouse.glob("*.whl") if canonical(w.name.split("-")[0]) == name]
        if built.returncode != 0 or not any(w.endswith("-none-any.whl") for w in wheels):
            raise SystemExit(f"{pin}: no {arch} manylinux wheel and not pure Python\n{got.stderr}{built.stderr}")


def install_command(packages: dict[str, str], wheelhouse: Path, target: Path, arch: str) -> list[str]:
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
        "--no-index", "--find-links", str(wheelhouse), *_platform_options(arch),
        "--target", str(target),
        *(f"{name}=={version}" for name, version in sorted(packages.items())),
    ]


def write_zip(source: Path, out: Path) -> None:
    """A reproducible zip (sorted entries, fixed times) under python/, as Lambda expects,
    without bytecode caches."""
    out.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    tmp = out.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(f"python/{path.relative_to(source).as_posix()}", (1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    os.replace(tmp, out)


def build(arch: str, out: Path, requirements: Path = REQUIREMENTS) -> dict[str, str]:
    packages = layer_packages(parse_requirements(requirements.read_text(encoding="utf-8")))
    with tempfile.TemporaryDirectory(prefix="layer-") as tmp:
        wheelhouse, target = Path(tmp) / "wheels", Path(tmp) / "python"
        fetch_wheels(packages, wheelhouse, arch)
        subprocess.run(install_command(packages, wheelhouse, target, arch), check=True)  # noqa: S603
        shutil.rmtree(target / "bin", ignore_errors=True)
        write_zip(target, out)
    return packages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="x86_64")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--list", action="store_true", help="print what would go in the layer and stop")
    args = parser.parse_args(argv)
    if args.list:
        for name, version in sorted(layer_packages(parse_requirements(REQUIREMENTS.read_text())).items()):
            print(f"{name}=={version}")
        return 0
    out = args.out or ROOT / "build" / "layer" / f"runtime-{args.arch}.zip"
    packages = build(args.arch, out)
    print(f"layer {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: "
          f"{len(packages)} packages, {out.stat().st_size / 1024 / 1024:.1f} MB ({args.arch})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

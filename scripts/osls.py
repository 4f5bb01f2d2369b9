"""Run osls (the deploy tool) for this repository, the same way from the Makefile, the deploy
planner and the tests: the options every command of this service takes, an environment
without telemetry, one osls at a time per checkout in a copy of the service's own files
(`service`), and the configuration as osls resolves it (`resolved`), wherever the real
resolution matters.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from infra.local.slsconfig import ServerlessConfig

ROOT = Path(__file__).resolve().parents[1]
OSLS = ROOT / "node_modules" / ".bin" / "osls"
# What the service is made of: the configuration, what it includes, and the functions' code.
SERVICE_FILES = ("serverless.yml", "infra", "functions")


def layer_zip(arch: str) -> Path:
    return ROOT / "build" / "layer" / f"runtime-{arch}.zip"


class NoRegion(SystemExit):
    """The stack has no default region: a deploy goes where someone chose, or nowhere."""

    def __init__(self) -> None:
        super().__init__(
            "no AWS region: set AWS_REGION (e.g. cn-north-1, cn-northwest-1, ap-east-1) or pass REGION=... to make; "
            "serverless.yml has no default region, so nothing is packaged or deployed to a region nobody chose"
        )


def region(chosen: str | None = None) -> str:
    """The region to work in: the one given, else AWS_REGION or AWS_DEFAULT_REGION (as the
    AWS tools read them); NoRegion when there is none."""
    found = chosen or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not found:
        raise NoRegion()
    return found


def osls_args(stage: str, arch: str = "x86_64", layer: Path | None = None, in_region: str | None = None) -> list[str]:
    """The options every osls command of this service takes."""
    layer = ROOT / (layer or layer_zip(arch))  # absolute: osls runs in the service's copy
    return ["--stage", stage, "--region", region(in_region), f"--param=architecture={arch}",
            f"--param=runtimeLayerZip={layer}"]


def osls_env() -> dict[str, str]:
    """osls without its telemetry and update notices (nothing leaves the machine)."""
    return {**os.environ, "SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off", "CI": "1"}


@contextlib.contextmanager
def service():
    """The directory to run osls in: build/service/, a fresh copy of SERVICE_FILES (caches
    left out), one osls at a time per checkout. osls lists every file under its service
    directory for each function it packages, before the patterns pick a function's own: in
    the checkout, with .venv and node_modules, that is some 48,000 files and most of a
    package's time (6.6 s; 2.6 s in the copy). And osls uses `<service>/.serverless` as
    scratch space whatever `--package` says, so two concurrent runs would clobber each other."""
    copy = ROOT / "build" / "service"
    lock = ROOT / "build" / ".osls.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            shutil.rmtree(copy, ignore_errors=True)
            copy.mkdir()
            for name in SERVICE_FILES:
                if (ROOT / name).is_dir():
                    shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                else:
                    shutil.copy2(ROOT / name, copy / name)
            yield copy
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Everything `osls print` reads besides the environment: the service file, what it includes,
# the plugins, and the deploy tool's own version.
CONFIG_INPUTS = ("serverless.yml", "infra/**/*.yml", "infra/plugins/*.js", "package-lock.json")
_ENV_SOURCE = re.compile(r"\$\{env:(\w+)")


def _config_digest(argv: list[str]) -> str:
    digest = hashlib.sha256("\0".join(argv).encode())
    names: set[str] = set()
    for pattern in CONFIG_INPUTS:
        for path in sorted(ROOT.glob(pattern)):
            data = path.read_bytes()
            digest.update(f"\0{path.relative_to(ROOT)}\0".encode() + data)
            names |= set(_ENV_SOURCE.findall(data.decode("utf-8", "replace")))
    for name in sorted(names):
        digest.update(f"\0{name}={os.environ.get(name, '')}".encode())
    return digest.hexdigest()[:24]


def resolved(stage: str, arch: str = "x86_64", params: dict[str, str] | None = None,
             in_region: str | None = None) -> ServerlessConfig:
    """serverless.yml as the deploy tool resolves it for `stage` (`osls print`), kept under
    build/osls-print/ by a hash of everything it reads, so unchanged files cost no second run."""
    argv = osls_args(stage, arch, in_region=in_region)
    argv += [f"--param={k}={v}" for k, v in sorted((params or {}).items())]
    cached = ROOT / "build" / "osls-print" / f"{_config_digest(argv)}.json"
    if not cached.exists():
        printed = subprocess.run(  # noqa: S603 - fixed argv
            [str(OSLS), "print", "--format", "json", *argv],
            cwd=ROOT, env=osls_env(), check=False, capture_output=True, text=True,
        )
        if printed.returncode:
            raise RuntimeError(f"osls print failed for stage {stage}:\n{printed.stdout}{printed.stderr}")
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(printed.stdout, encoding="utf-8")
        os.replace(partial, cached)
    return ServerlessConfig(raw=json.loads(cached.read_text(encoding="utf-8")), stage=stage)

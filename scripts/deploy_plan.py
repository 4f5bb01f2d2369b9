"""Changed paths in, deploy commands out: what a push to main must deploy to a stage.

- `functions/<feature>/...` changed: `osls deploy function` for each function whose handler
  lives in that folder (read from serverless.yml as osls resolves it), and nothing else;
- the code every function ships (`functions/common`, `functions/__init__.py`), the layer
  (`requirements/runtime.*`, scripts/build_layer.py), the deploy tool (package*.json),
  `serverless.yml` or the stack's `infra/` files: the whole stack (which covers every
  function and the layer);
- documentation, tests, benchmarks, CI files, and the laptop-only parts of infra/ (the local
  stack, operator commands, the menu, pushed by `make menu-push`): nothing;
- any other path: the whole stack, since an unknown change is safest deployed in full.

`make deploy` runs it (and builds the layer first, `make layer`):

    make deploy STAGE=dev                    # the whole stack
    make deploy STAGE=dev FUNCTION=booking   # a feature's functions (API, intent, schedules...)
    make deploy STAGE=dev FUNCTION=bookingApi
    make deploy STAGE=dev BASE=<sha>         # what changed since <sha> (the deploy workflow)
    python -m scripts.deploy_plan --stage dev functions/booking/app.py docs/x.md   # print only
"""
from __future__ import annotations

import argparse
import fnmatch
import shlex
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from scripts import osls

WHOLE_STACK = (
    "functions/common/*",
    "functions/__init__.py",
    "requirements/runtime.*",
    "scripts/build_layer.py",
    "serverless.yml",
    "package.json",
    "package-lock.json",
    "infra/*",
)
# Parts of infra/ that never reach AWS: checked before the rule that infra/ deploys the stack.
LAPTOP_ONLY = ("infra/local/*", "infra/cli/*", "infra/menu.json", "infra/__init__.py")
NOTHING = (
    "docs/*",
    "tests/*",
    "bench/*",
    ".github/*",
    ".ci/*",
    "*.md",
    "requirements/dev.*",
    "scripts/*",
    "Makefile",
    "pyproject.toml",
    ".gitignore",
    "LICENSE",
)
NULL_SHA = "0" * 40


def _matches(path: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


def functions_by_feature(stage: str, region: str | None = None) -> dict[str, list[str]]:
    """{feature folder: [function keys]} from serverless.yml, as osls resolves it."""
    out: dict[str, list[str]] = {}
    for key, function in osls.resolved(stage, in_region=region).functions.items():
        out.setdefault(function.feature, []).append(key)
    return out


@dataclass(frozen=True)
class Target:
    """Where and what a deploy goes to: stage, region, architecture and the layer zip."""

    stage: str
    region: str
    arch: str = "x86_64"
    layer: Path | None = None

    def args(self) -> list[str]:
        return osls.osls_args(self.stage, self.arch, self.layer, self.region)


def full_deploy(target: Target) -> list[list[str]]:
    return [["osls", "deploy", *target.args()]]


def function_deploy(key: str, target: Target) -> list[str]:
    return ["osls", "deploy", "function", "-f", key, *target.args()]


def named_functions(name: str, features: dict[str, list[str]]) -> list[str]:
    """The function keys `name` stands for: a feature's folder (all its functions) or one
    function's key. ValueError lists both kinds of name."""
    if name in features:
        return features[name]
    if any(name in keys for keys in features.values()):
        return [name]
    keys = sorted(k for keys in features.values() for k in keys)
    raise ValueError(f"unknown function {name!r}; a feature: {', '.join(sorted(features))}; "
                     f"or a function: {', '.join(keys)}")


def plan(paths: Iterable[str], target: Target, features: dict[str, list[str]] | None = None) -> list[list[str]]:
    """The commands that deploy `paths`' changes to `target`, in order."""
    features = functions_by_feature(target.stage, target.region) if features is None else features
    changed: set[str] = set()
    for path in (p.strip().removeprefix("./") for p in paths):
        if not path or _matches(path, LAPTOP_ONLY):
            continue
        if _matches(path, WHOLE_STACK):
            return full_deploy(target)
        parts = path.split("/")
        if parts[0] == "functions" and len(parts) > 2:
            if parts[1] not in features:
                return full_deploy(target)  # a feature serverless.yml does not know yet
            changed.add(parts[1])
            continue
        if _matches(path, NOTHING):
            continue
        return full_deploy(target)
    return [function_deploy(key, target) for feature in sorted(changed) for key in features[feature]]


def changed_paths(base: str | None, head: str) -> list[str] | None:
    """Paths changed between two commits; None when the base is unknown (first push, a
    force-push that dropped it), which calls for a full deploy."""
    if not base or base == NULL_SHA:
        return None
    result = subprocess.run(  # noqa: S603 - fixed argv
        ["git", "diff", "--name-only", base, head],  # noqa: S607
        cwd=osls.ROOT, capture_output=True, text=True, check=False,
    )
    return result.stdout.splitlines() if result.returncode == 0 else None


def execute(commands: list[list[str]]) -> int:
    for command in commands:
        print("+", shlex.join(command), flush=True)
        with osls.service() as directory:
            code = subprocess.run(  # noqa: S603 - commands from plan()
                [str(osls.OSLS), *command[1:]], cwd=directory, env=osls.osls_env(), check=False
            ).returncode
        if code:
            return code
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--region", help="default: AWS_REGION (there is no default region)")
    parser.add_argument("--arch", default="x86_64", choices=["x86_64", "arm64"])
    parser.add_argument("--layer", type=Path, help="the layer zip (default: build/layer/runtime-<arch>.zip)")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--all", action="store_true", help="deploy the whole stack")
    what.add_argument("--function", help="deploy the code of a feature's functions (e.g. booking) or of one "
                                         "function (e.g. bookingApi)")
    what.add_argument("--base", help="the commit before the push (git diff base..head)")
    parser.add_argument("--head", default="HEAD")
    parser.add_argument("--execute", action="store_true", help="run the commands instead of printing them")
    parser.add_argument("paths", nargs="*", help="changed paths (instead of --base)")
    args = parser.parse_args(argv)
    target = Target(args.stage, osls.region(args.region), args.arch, args.layer)

    if args.all:
        commands = full_deploy(target)
    elif args.function:
        try:
            keys = named_functions(args.function, functions_by_feature(args.stage, target.region))
        except ValueError as error:
            parser.error(str(error))
        commands = [function_deploy(key, target) for key in keys]
    elif args.base is not None:
        paths = changed_paths(args.base, args.head)
        commands = full_deploy(target) if paths is None else plan(paths, target)
    else:
        commands = plan(args.paths, target)

    if args.execute:
        if not commands:
            print(f"nothing to deploy to {args.stage}")
        return execute(commands)
    for command in commands:
        print(shlex.join(command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

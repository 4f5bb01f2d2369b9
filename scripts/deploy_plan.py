"""Changed paths in, deploy commands out: what a push to main must deploy to a stage.

- `functions/<feature>/...` changed: `osls deploy function` for each function whose handler
  lives in that folder (read from serverless.yml), and nothing else;
- the code every function ships (`functions/common`, `functions/__init__.py`), the layer
  (`requirements/runtime.*`, scripts/build_layer.py), the deploy tool (package*.json),
  `serverless.yml` or the stack's `infra/` files: the layer is built and the whole stack is
  deployed (which covers every function);
- documentation, tests, benchmarks, CI files, and the laptop-only parts of infra/ (the local
  stack, operator commands, the menu, pushed by `make menu-push`): nothing;
- any other path: the whole stack, since an unknown change is safest deployed in full.

    python -m scripts.deploy_plan --stage dev --base <sha> --head <sha> [--execute]
    python -m scripts.deploy_plan --stage dev functions/booking/app.py docs/x.md
    python -m scripts.deploy_plan --stage prod --function webhook --execute
"""
from __future__ import annotations

import argparse
import fnmatch
import shlex
import subprocess
import sys
from collections.abc import Iterable

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


def functions_by_feature(stage: str) -> dict[str, list[str]]:
    """{feature folder: [function keys]} from serverless.yml, as osls resolves it."""
    out: dict[str, list[str]] = {}
    for key, function in osls.resolved(stage).functions.items():
        out.setdefault(function.feature, []).append(key)
    return out


def full_deploy(stage: str, arch: str) -> list[list[str]]:
    layer = osls.layer_zip(arch).relative_to(osls.ROOT)
    return [
        ["python", "scripts/build_layer.py", "--arch", arch, "--out", str(layer)],
        ["osls", "deploy", *osls.osls_args(stage, arch, layer)],
    ]


def function_deploy(key: str, stage: str, arch: str) -> list[str]:
    layer = osls.layer_zip(arch).relative_to(osls.ROOT)
    return ["osls", "deploy", "function", "-f", key, *osls.osls_args(stage, arch, layer)]


def plan(paths: Iterable[str], stage: str, arch: str = "x86_64",
         features: dict[str, list[str]] | None = None) -> list[list[str]]:
    """The commands that deploy `paths`' changes to `stage`, in order."""
    features = functions_by_feature(stage) if features is None else features
    changed: set[str] = set()
    for path in (p.strip().removeprefix("./") for p in paths):
        if not path or _matches(path, LAPTOP_ONLY):
            continue
        if _matches(path, WHOLE_STACK):
            return full_deploy(stage, arch)
        parts = path.split("/")
        if parts[0] == "functions" and len(parts) > 2:
            if parts[1] not in features:
                return full_deploy(stage, arch)  # a feature serverless.yml does not know yet
            changed.add(parts[1])
            continue
        if _matches(path, NOTHING):
            continue
        return full_deploy(stage, arch)
    return [function_deploy(key, stage, arch) for feature in sorted(changed) for key in features[feature]]


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
        program = {"osls": str(osls.OSLS), "python": sys.executable}[command[0]]
        with osls.exclusive():
            code = subprocess.run(  # noqa: S603 - commands from plan()
                [program, *command[1:]], cwd=osls.ROOT, env=osls.osls_env(), check=False
            ).returncode
        if code:
            return code
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--arch", default="x86_64", choices=["x86_64", "arm64"])
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--all", action="store_true", help="deploy the whole stack")
    what.add_argument("--function", help="deploy one function's code by its serverless.yml key")
    what.add_argument("--base", help="the commit before the push (git diff base..head)")
    parser.add_argument("--head", default="HEAD")
    parser.add_argument("--execute", action="store_true", help="run the commands instead of printing them")
    parser.add_argument("paths", nargs="*", help="changed paths (instead of --base)")
    args = parser.parse_args(argv)

    if args.all:
        commands = full_deploy(args.stage, args.arch)
    elif args.function:
        known = {key for keys in functions_by_feature(args.stage).values() for key in keys}
        if args.function not in known:
            parser.error(f"unknown function {args.function!r}; one of: {', '.join(sorted(known))}")
        commands = [function_deploy(args.function, args.stage, args.arch)]
    elif args.base is not None:
        paths = changed_paths(args.base, args.head)
        commands = full_deploy(args.stage, args.arch) if paths is None else plan(paths, args.stage, args.arch)
    else:
        commands = plan(args.paths, args.stage, args.arch)

    if args.execute:
        if not commands:
            print(f"nothing to deploy to {args.stage}")
        return execute(commands)
    for command in commands:
        print(shlex.join(command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

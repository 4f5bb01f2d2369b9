"""scripts/deploy_plan.py: changed paths in, deploy commands out."""
from __future__ import annotations

import subprocess
import sys

import pytest

from scripts import deploy_plan, osls

FEATURES = {
    "webhook": ["webhook"],
    "booking": ["bookingApi", "bookingIntent", "bookingReminders"],
    "notify": ["notifyApi", "notifyEvents"],
}
LAYER = "build/layer/runtime-x86_64.zip"
PARAMS = ["--param=architecture=x86_64", f"--param=runtimeLayerZip={LAYER}"]


def plan(*paths: str, stage: str = "dev") -> list[list[str]]:
    return deploy_plan.plan(paths, stage, features=FEATURES)


def is_full(commands: list[list[str]], stage: str = "dev") -> bool:
    return commands == [
        ["python", "scripts/build_layer.py", "--arch", "x86_64", "--out", LAYER],
        ["osls", "deploy", "--stage", stage, *PARAMS],
    ]


def test_a_feature_change_deploys_that_features_functions_alone():
    assert plan("functions/booking/app.py", "functions/booking/pages/list.html") == [
        ["osls", "deploy", "function", "-f", key, "--stage", "dev", *PARAMS]
        for key in ("bookingApi", "bookingIntent", "bookingReminders")
    ]


def test_two_features_deploy_both_and_only_them():
    keys = [c[4] for c in plan("functions/webhook/dispatch.py", "functions/notify/store.py", "docs/x.md")]
    assert keys == ["notifyApi", "notifyEvents", "webhook"]


@pytest.mark.parametrize("path", [
    "functions/common/http.py",
    "functions/common/wechat/client.py",
    "functions/__init__.py",
    "requirements/runtime.txt",
    "requirements/runtime.in",
    "serverless.yml",
    "infra/stages.yml",
    "infra/functions/booking.yml",
    "infra/resources/notify.yml",
    "infra/iam/booking.yml",
    "infra/plugins/template-rules.js",
    "package-lock.json",
    "scripts/build_layer.py",
    "functions/new_feature/app.py",
    "some/unknown/file.txt",
])
def test_shared_code_layer_or_stack_changes_deploy_the_whole_stack(path):
    assert is_full(plan("functions/booking/app.py", path, stage="prod"), stage="prod")


@pytest.mark.parametrize("paths", [
    ["docs/development.md"],
    ["README.md", "tests/booking/test_app.py"],
    ["tests/infra/test_deploy_plan.py", "bench/run.py", ".github/workflows/ci.yml"],
    ["infra/local/gateway.py", "infra/cli/menu.py", "infra/menu.json"],
    ["requirements/dev.txt", "Makefile", "pyproject.toml", "scripts/deploy_plan.py"],
    [],
])
def test_docs_and_tests_deploy_nothing(paths):
    assert plan(*paths) == []


def test_functions_are_read_from_serverless_yml():
    features = deploy_plan.functions_by_feature("dev")
    config = osls.resolved("dev")
    assert sorted(k for keys in features.values() for k in keys) == sorted(config.functions)
    for feature, keys in features.items():
        assert all(config.functions[k].handler.startswith(f"functions/{feature}/") for k in keys)
    [command] = deploy_plan.plan(["functions/webhook/app.py"], "dev")
    assert command[:5] == ["osls", "deploy", "function", "-f", "webhook"]


def test_an_unknown_base_commit_deploys_everything():
    assert deploy_plan.changed_paths("0" * 40, "HEAD") is None
    assert deploy_plan.changed_paths(None, "HEAD") is None
    assert deploy_plan.changed_paths("f" * 40, "HEAD") is None


def test_the_cli_prints_the_commands():
    result = subprocess.run(
        [sys.executable, "-m", "scripts.deploy_plan", "--stage", "prod", "functions/webhook/routes.py", "docs/a.md"],
        cwd=osls.ROOT, capture_output=True, text=True, check=True,
    )
    assert result.stdout.splitlines() == [
        "osls deploy function -f webhook --stage prod --param=architecture=x86_64 "
        f"--param=runtimeLayerZip={LAYER}"
    ]


def test_the_cli_refuses_an_unknown_function():
    result = subprocess.run(
        [sys.executable, "-m", "scripts.deploy_plan", "--stage", "dev", "--function", "nope"],
        cwd=osls.ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 2 and "unknown function" in result.stderr

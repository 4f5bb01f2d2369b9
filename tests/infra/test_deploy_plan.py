"""scripts/deploy_plan.py: changed paths in, deploy commands out."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from scripts import deploy_plan, osls

FEATURES = {
    "webhook": ["webhook"],
    "booking": ["bookingApi", "bookingIntent", "bookingReminders"],
    "notify": ["notifyApi", "notifyEvents"],
}
LAYER = osls.ROOT / "build" / "layer" / "runtime-x86_64.zip"  # absolute: osls runs in a copy of the service
REGION = "cn-northwest-1"
PARAMS = ["--region", REGION, "--param=architecture=x86_64", f"--param=runtimeLayerZip={LAYER}"]


def plan(*paths: str, stage: str = "dev") -> list[list[str]]:
    return deploy_plan.plan(paths, deploy_plan.Target(stage, REGION), features=FEATURES)


def is_full(commands: list[list[str]], stage: str = "dev") -> bool:
    return commands == [["osls", "deploy", "--stage", stage, *PARAMS]]


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
    [command] = deploy_plan.plan(["functions/webhook/app.py"], deploy_plan.Target("dev", REGION))
    assert command[:5] == ["osls", "deploy", "function", "-f", "webhook"]


def test_an_unknown_base_commit_deploys_everything():
    assert deploy_plan.changed_paths("0" * 40, "HEAD") is None
    assert deploy_plan.changed_paths(None, "HEAD") is None
    assert deploy_plan.changed_paths("f" * 40, "HEAD") is None


def run_planner(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scripts.deploy_plan", *args], cwd=osls.ROOT, env=env,
                          capture_output=True, text=True, check=False)


def test_the_cli_prints_the_commands():
    result = run_planner("--stage", "prod", "--region", REGION, "functions/webhook/routes.py", "docs/a.md")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"osls deploy function -f webhook --stage prod --region {REGION} --param=architecture=x86_64 "
        f"--param=runtimeLayerZip={LAYER}"
    ]


def test_a_feature_name_deploys_all_of_that_features_functions():
    """`make deploy FUNCTION=booking`: booking's API, intent and schedules."""
    result = run_planner("--stage", "dev", "--function", "booking")
    assert result.returncode == 0, result.stderr
    deployed = [line.split()[4] for line in result.stdout.splitlines()]
    assert deployed == deploy_plan.functions_by_feature("dev")["booking"]
    assert set(deployed) == {"bookingApi", "bookingIntent", "bookingReminders"}


def test_a_function_key_deploys_that_function_alone():
    result = run_planner("--stage", "dev", "--function", "notifyEvents")
    assert result.returncode == 0, result.stderr
    assert [line.split()[4] for line in result.stdout.splitlines()] == ["notifyEvents"]


def test_the_cli_refuses_an_unknown_name_listing_features_and_functions():
    result = run_planner("--stage", "dev", "--function", "nope")
    assert result.returncode == 2
    features = "audit, booking, branch_lookup, console, loan_apply, notify, products, webhook"
    assert f"unknown function 'nope'; a feature: {features};" in result.stderr
    assert "or a function: auditApi, bookingApi, bookingIntent," in result.stderr


def test_without_a_region_nothing_is_planned_and_the_error_says_how_to_choose_one():
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}
    result = run_planner("--stage", "dev", "--all", env=env)
    assert result.returncode == 1
    assert "no AWS region: set AWS_REGION" in result.stderr and "no default region" in result.stderr
    assert not result.stdout

"""`osls package` runs offline and each function's zip holds exactly its own folder and
functions/common; the runtime layer holds what requirements/runtime.txt needs at run time.

The package is built once per test run (the `packaged` fixture, shared by the other
test_package*/test_template*/test_iam* modules through `xdist_group("package")`, so under
`--dist loadgroup` one worker builds it). The layer in it is a stand-in: building the real
one downloads wheels (`make layer`); the tests check how it is wired, not its bytes.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.local.slsconfig import ServerlessConfig
from scripts import build_layer, osls, packaging

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("package")]

ROOT = osls.ROOT


@dataclass
class Package:
    stage: str
    out: Path
    template: dict
    config: ServerlessConfig

    @property
    def resources(self) -> dict[str, dict]:
        return self.template["Resources"]

    def of_type(self, cfn_type: str) -> dict[str, dict]:
        return {k: v for k, v in self.resources.items() if v["Type"] == cfn_type}

    def function_resource(self, key: str) -> tuple[str, dict]:
        name = self.config.function_name(key)
        for logical, resource in self.of_type("AWS::Lambda::Function").items():
            if resource["Properties"]["FunctionName"] == name:
                return logical, resource
        raise KeyError(key)


_BUILT: dict[str, Package] = {}


# The customers' domain a bank gives prod (infra/stages.yml leaves it to each bank's account).
PROD_DOMAIN = {
    "domainName": "wx.example-bank.cn",
    "certificateArn": "arn:aws-cn:acm:cn-north-1:111122223333:certificate/0f3c0b5e-3e5b-4a5e-9d7a-7a0e2c1d9b11",
    "basePath": "bank",
}


def build_package(stage: str, base: Path, params: dict[str, str] | None = None) -> Package:
    """Package a stage once per process: test modules import the fixtures below, and each
    import is a fixture of its own to pytest, so the result is kept here."""
    if stage in _BUILT:
        return _BUILT[stage]
    out = base / stage
    layer = base / f"{stage}-layer.zip"
    with zipfile.ZipFile(layer, "w") as archive:
        archive.writestr("python/stand_in_layer.py", "")
    if not osls.OSLS.exists():
        pytest.fail("osls is not installed: run `npm ci`")
    try:
        packaging.package(stage, out, layer=layer, params=params)
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"osls package exited with {exc.returncode}:\n{exc.stdout}\n{exc.stderr}")
    _BUILT[stage] = Package(stage, out, packaging.template(out), osls.resolved(stage, params=params))
    return _BUILT[stage]


@pytest.fixture(scope="session")
def packaged(tmp_path_factory) -> Package:
    """The dev stage, packaged once per test run."""
    return build_package("dev", tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def packaged_prod(tmp_path_factory) -> Package:
    """The prod stage (its fixed egress on), with a custom domain."""
    return build_package("prod", tmp_path_factory.getbasetemp(), PROD_DOMAIN)


def shipped_files(feature: str) -> set[str]:
    """What a feature's zip must hold: functions/__init__.py, common and its folder."""
    out = {"functions/__init__.py"}
    for folder in ("common", feature):
        for path in (ROOT / "functions" / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
                out.add(path.relative_to(ROOT).as_posix())
    return out


def test_package_writes_the_templates_and_one_zip_per_function(packaged):
    assert (packaged.out / "cloudformation-template-create-stack.json").exists()
    assert set(packaging.function_zips(packaged.out)) == set(packaged.config.functions)


def test_each_zip_holds_exactly_its_folder_and_common(packaged):
    features = {f.feature for f in packaged.config.functions.values()}
    for key, function in packaged.config.functions.items():
        with zipfile.ZipFile(packaged.out / f"{key}.zip") as archive:
            names = set(archive.namelist())
        leaked = {n for n in names if n.split("/")[1] in features - {function.feature}}
        assert not leaked, f"{key}'s zip carries another feature's code: {sorted(leaked)[:5]}"
        assert not {n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith("tests/")}
        assert names == shipped_files(function.feature), key


def test_zips_stay_within_the_size_goal(packaged):
    for key, path in packaging.function_zips(packaged.out).items():
        assert path.stat().st_size <= packaging.ZIP_GOAL_BYTES, f"{key}.zip is {path.stat().st_size} bytes"


def test_every_function_runs_with_the_runtime_layer(packaged):
    layers = packaged.of_type("AWS::Lambda::LayerVersion")
    assert list(layers) == ["RuntimeLambdaLayer"]
    layer = layers["RuntimeLambdaLayer"]["Properties"]
    assert layer["CompatibleRuntimes"] == ["python3.12"]
    assert layer["CompatibleArchitectures"] == ["x86_64"]
    for key in packaged.config.functions:
        _, function = packaged.function_resource(key)
        assert function["Properties"]["Layers"] == [{"Ref": "RuntimeLambdaLayer"}], key
        assert function["Properties"]["Architectures"] == ["x86_64"], key
        assert function["Properties"]["Runtime"] == "python3.12", key


def test_the_layer_ships_the_sdk_it_was_tested_with_and_skips_what_only_chalices_cli_needs():
    import boto3
    import botocore

    pins = build_layer.parse_requirements((ROOT / "requirements" / "runtime.txt").read_text())
    layer = build_layer.layer_packages(pins)
    top_level = {name for name, (_, via) in pins.items() if any(v.startswith("-r") for v in via)}
    assert top_level <= set(layer)
    # not the runtime's boto3, whatever version AWS last put there: the pinned one, tested here
    assert layer["boto3"] == boto3.__version__ and layer["botocore"] == botocore.__version__
    assert {"s3transfer", "jmespath", "urllib3", "python-dateutil"} <= set(layer)
    for cli_only in ("click", "inquirer", "blessed", "pip", "setuptools", "wheel", "pyyaml"):
        if cli_only in pins:
            assert cli_only not in layer, cli_only
    assert {"chalice", "requests", "cryptography", "cffi", "wechatpy"} <= set(layer)


def test_a_dependency_stays_when_anything_but_chalice_needs_it():
    text = "\n".join([
        "chalice==1.0", "    # via -r runtime.in",
        "wechatpy==1.0", "    # via -r runtime.in",
        "click==8.0", "    # via chalice",
        "six==1.0", "    # via", "    #   chalice", "    #   wechatpy",
        "pyyaml==6.0", "    # via", "    #   chalice", "    #   wechatpy",
        "readchar==1.0", "    # via inquirer",
        "inquirer==3.0", "    # via chalice",
    ])
    assert build_layer.layer_packages(build_layer.parse_requirements(text)) == {
        "chalice": "1.0", "wechatpy": "1.0", "pyyaml": "6.0", "six": "1.0",
    }


def test_the_layer_is_built_from_lambda_platform_wheels(tmp_path):
    command = build_layer.install_command({"cffi": "2.1.1"}, tmp_path / "w", tmp_path / "t", "arm64")
    assert "--only-binary=:all:" in command and "--no-index" in command
    assert command[command.index("--python-version") + 1] == "3.12"
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms and all(p.startswith("manylinux") and p.endswith("aarch64") for p in platforms)


def test_chalices_runtime_module_needs_only_the_standard_library():
    """Why chalice's own dependencies can stay out of the layer."""
    import chalice

    package = Path(chalice.__file__).parent
    for module in ("__init__.py", "app.py"):
        tree = ast.parse((package / module).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                assert root == "chalice" or root in sys.stdlib_module_names, f"chalice/{module} imports {root}"


def test_package_script_reports_sizes(packaged):
    table, ok = packaging.report(packaged.out, osls.layer_zip("x86_64"))
    assert ok
    for key in packaged.config.functions:
        assert key in table


def test_the_osls_version_is_pinned_exactly():
    manifest = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    version = manifest["devDependencies"]["osls"]
    assert version[0].isdigit() and version.split(".")[0] == "3", "osls must be pinned to an exact 3.x"
    assert lock["packages"]["node_modules/osls"]["version"] == version

"""The functions' AWS service descriptions (functions/common/models): botocore's own for the
operations the code calls, no more (a client of a whole description costs a cold start up
to 30 ms more), and no fewer (an operation missing would fail in AWS only)."""
from __future__ import annotations

import ast
import os
from pathlib import Path

from botocore import xform_name
from botocore.loaders import Loader

from functions.common import aws
from scripts import service_models

ROOT = Path(__file__).resolve().parents[2]
# names the code uses for something else
NOT_AWS = {"kms:Encrypt": "AES-GCM's encrypt(), WeChat's <Encrypt> element",
           "kms:Verify": "signature checks' verify()"}


def test_the_shipped_models_are_botocores_own_for_the_listed_operations():
    """`make models` after a botocore upgrade: the files follow the pinned version."""
    shipped = {str(p.relative_to(aws.MODELS)): p.read_text(encoding="utf-8")
               for p in Path(aws.MODELS).rglob("*.json")}
    assert shipped == service_models.expected()


def _called_names() -> tuple[set[str], set[str]]:
    """Method names called anywhere in functions/, and the string literals there."""
    methods, strings = set(), set()
    for path in (ROOT / "functions").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                methods.add(node.func.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
    return methods, strings


def test_the_code_calls_no_operation_the_models_lack():
    """Every operation of these services that the code names, as a client method
    (`send_message(`) or as PynamoDB's operation name ("GetItem"), is listed."""
    methods, strings = _called_names()
    loader = Loader()
    missing = []
    for service, listed in aws.OPERATIONS.items():
        full = loader.load_service_model(service, "service-2")
        for operation in full["operations"]:
            if operation not in listed and (xform_name(operation) in methods or operation in strings):
                missing.append(f"{service}:{operation}")
    assert sorted(missing) == sorted(NOT_AWS)


def test_a_functions_client_knows_the_listed_operations_only():
    ssm = aws.client("ssm")
    assert hasattr(ssm, "get_parameters") and not hasattr(ssm, "get_parameter")
    dynamodb = aws.client("dynamodb")
    assert {xform_name(o) for o in aws.OPERATIONS["dynamodb"]} <= set(dir(dynamodb))
    assert not hasattr(dynamodb, "delete_table")


def test_a_functions_client_reaches_the_endpoint_botocores_whole_table_gives(monkeypatch):
    """The trimmed endpoint table changes no endpoint: China's regions, a commercial one."""
    from botocore.session import get_session

    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    whole = get_session()
    for region in ("cn-north-1", "cn-northwest-1", "ap-east-1", "us-east-1"):
        for service in aws.SERVICES:
            ours = aws.session().create_client(service, region_name=region, aws_access_key_id="x",
                                               aws_secret_access_key="x")
            theirs = whole.create_client(service, region_name=region, aws_access_key_id="x",
                                         aws_secret_access_key="x")
            assert ours.meta.endpoint_url == theirs.meta.endpoint_url, (service, region)

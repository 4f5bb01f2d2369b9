"""The deploy rehearsed as an engineer runs it, against moto server instead of AWS: a full
`make deploy STAGE=ci`, then a change to booking and `make deploy STAGE=ci FUNCTION=booking`,
which must update booking's functions (API, intent, reminders) and touch nothing else.

The real deploy tool does it all (osls deploy, osls deploy function, through the Makefile and
scripts/deploy_plan.py); `AWS_ENDPOINT_URL` sends its calls to moto (infra/plugins/aws-deploy.js).
It runs in a copy of the repository, so the change to booking stays there.

What moto lacks, and where that part is checked instead:
- a region of the China partition: moto reads a change set's template from S3 only at the
  global S3 address, and osls names `s3.<region>.amazonaws.com.cn` there; the rehearsal runs
  in ap-east-1, and cfn-lint checks the templates in cn-north-1 and cn-northwest-1
  (test_template.py);
- AWS::Lambda::LayerVersion as CloudFormation sees it: moto publishes the version but gives
  the stack no reference to it (no physical id, no Ref, no `Layers` on the functions), and a
  stack updated by change set loses its outputs; that every function runs with the stack's
  layer is checked in the packaged template (test_package.py), and that `deploy function`
  leaves a function's layer as the stack set it is the plugin's rule (aws-deploy.js);
- AWS::CloudWatch::Alarm, AWS::Scheduler::Schedule, AWS::WAFv2::*, AWS::S3::BucketPolicy,
  AWS::SNS::Subscription: accepted and skipped; their properties are checked in
  test_template.py.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import boto3
import pytest

from scripts import osls

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rehearsal")]

REGION = "ap-east-1"
STAGE = "ci"
BOOKING = ("bookingApi", "bookingIntent", "bookingReminders")


def _copy_repository(to: Path) -> None:
    """The tracked files (their times kept, so make sees nothing to rebuild), with
    node_modules linked in (the deploy tool and its plugins' home)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=osls.ROOT, capture_output=True, check=True)
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = osls.ROOT / name
        if source.is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / name)
    (to / "node_modules").symlink_to((osls.ROOT / "node_modules").resolve())


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    from moto.server import ThreadedMotoServer

    checkout = tmp_path_factory.mktemp("checkout")
    _copy_repository(checkout)
    layer = tmp_path_factory.mktemp("layer") / "runtime-stand-in.zip"
    with zipfile.ZipFile(layer, "w") as archive:  # the layer's bytes are not what is rehearsed
        archive.writestr("python/stand_in_layer.py", "")
    quiet, logging.getLogger("werkzeug").level = logging.getLogger("werkzeug").level, logging.WARNING
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {**os.environ, "AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_REGION": REGION,
           "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "SLS_AWS_MONITORING_FREQUENCY": "200"}
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_SECURITY_TOKEN", None)

    def make_deploy(*args: str) -> subprocess.CompletedProcess:
        venv = osls.ROOT / ".venv"  # this checkout's, as installed: nothing is installed by the rehearsal
        command = ["make", f"VENV={venv}", "-o", f"{venv}/.installed", "-o", "node_modules/.installed",
                   "-o", str(layer), "deploy", f"STAGE={STAGE}", f"LAYER_ZIP={layer}", *args]
        result = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    session = boto3.session.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    clients = {name: session.client(name, endpoint_url=env["AWS_ENDPOINT_URL"])
               for name in ("cloudformation", "lambda")}
    try:
        yield {"checkout": checkout, "make_deploy": make_deploy, **clients}
    finally:
        server.stop()
        logging.getLogger("werkzeug").setLevel(quiet)


def _functions(client, names) -> dict[str, dict]:
    out = {}
    for key, name in names.items():
        out[key] = client.get_function_configuration(FunctionName=name)
        out[key].pop("ResponseMetadata")
    return out


def test_a_full_deploy_then_one_features_functions(rehearsal):
    cfn, lam, checkout = rehearsal["cloudformation"], rehearsal["lambda"], rehearsal["checkout"]
    stack_name = f"wechat-bank-{STAGE}"
    full = rehearsal["make_deploy"]()
    assert f"osls deploy --stage {STAGE} --region {REGION}" in full.stdout
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    config = osls.resolved(STAGE, in_region=REGION)
    names = {key: config.function_name(key) for key in config.functions}
    before = _functions(lam, names)
    for key, function in before.items():
        assert function["Role"].endswith(f":role/{config.function_name(key)}"), key  # the role osls finds by name
    changes_before = cfn.list_change_sets(StackName=stack_name)["Summaries"]

    with open(checkout / "functions" / "booking" / "__init__.py", "a", encoding="utf-8") as changed:
        changed.write("# a change to booking alone\n")
    one = rehearsal["make_deploy"]("FUNCTION=booking")

    deployed = [line.split()[5] for line in one.stdout.splitlines() if line.startswith("+ osls deploy function")]
    assert deployed == list(BOOKING)
    after = _functions(lam, names)
    for key in names:
        if key in BOOKING:
            assert after[key]["CodeSha256"] != before[key]["CodeSha256"], f"{key} was not updated"
            assert after[key]["Role"] == before[key]["Role"] and after[key]["Environment"] == before[key]["Environment"]
        else:
            assert after[key] == before[key], f"{key} was touched by a deploy of booking"
    stack_after = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    assert stack_after.get("LastUpdatedTime") == stack.get("LastUpdatedTime")
    assert cfn.list_change_sets(StackName=stack_name)["Summaries"] == changes_before

"""The packaged templates deploy into moto's CloudFormation the way osls deploys them: create
the stack (the deployment bucket), upload the zips to it, update the stack with the full
template. What comes out must be what the code expects.

Resource types moto's CloudFormation does not implement are accepted and skipped by moto
(listed in MOTO_SKIPS); the template tests check those resources' properties instead.
"""
from __future__ import annotations

import base64
import hashlib
import json

import boto3
import pytest

from tests.infra.test_package import Package, packaged  # noqa: F401 - shared fixture

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("package")]

REGION = "cn-north-1"
MOTO_SKIPS = {
    "AWS::CloudWatch::Alarm",
    "AWS::Logs::MetricFilter",
    "AWS::Scheduler::Schedule",
    "AWS::WAFv2::WebACL",
    "AWS::WAFv2::WebACLAssociation",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::Subscription",
    "AWS::ApiGateway::Authorizer",
    "AWS::ApiGateway::GatewayResponse",
}


@pytest.fixture(scope="module")
def deployed(packaged: Package):  # noqa: F811
    from moto import mock_aws

    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        cfn = session.client("cloudformation")
        name = f"{packaged.config.service}-{packaged.stage}"
        cfn.create_stack(StackName=name, TemplateBody=(packaged.out / "cloudformation-template-create-stack.json")
                         .read_text())
        [created] = cfn.describe_stacks(StackName=name)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in created["Outputs"]}
        bucket = outputs["ServerlessDeploymentBucketName"]
        s3 = session.client("s3")
        uploaded = {}
        for resource in packaged.resources.values():
            code = resource["Properties"].get("Code") or resource["Properties"].get("Content")
            if resource["Type"] in ("AWS::Lambda::Function", "AWS::Lambda::LayerVersion"):
                artifact = packaged.out.parent / f"{packaged.stage}-layer.zip"
                if resource["Type"] == "AWS::Lambda::Function":
                    artifact = packaged.out / code["S3Key"].rsplit("/", 1)[1]
                s3.put_object(Bucket=bucket, Key=code["S3Key"], Body=artifact.read_bytes())
                uploaded[code["S3Key"]] = artifact
        cfn.update_stack(StackName=name, TemplateBody=json.dumps(packaged.template),
                         Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"])
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        summaries = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
        yield {"session": session, "stack": stack, "resources": {r["LogicalResourceId"]: r for r in summaries},
               "uploaded": uploaded}


def test_the_stack_is_created_and_updated(deployed, packaged):  # noqa: F811
    assert deployed["stack"]["StackStatus"] == "UPDATE_COMPLETE"
    deployed_ids = set(deployed["resources"])
    expected = {k for k, v in packaged.resources.items() if v["Type"] not in MOTO_SKIPS}
    assert expected <= deployed_ids
    assert all(r["ResourceStatus"].endswith("_COMPLETE") for r in deployed["resources"].values())


def _models():
    import functions.booking.store  # noqa: F401
    import functions.branch_lookup.store  # noqa: F401
    import functions.loan_apply.store  # noqa: F401
    import functions.notify.corebank  # noqa: F401
    import functions.notify.store  # noqa: F401
    import functions.products.store  # noqa: F401
    import functions.webhook.dedup  # noqa: F401
    from functions.common.dynamo import Model

    found, todo = [], [Model]
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if getattr(getattr(model, "Meta", None), "table_name", None) and model._hash_key_attribute() is not None:
            found.append(model)
    return found


def test_tables_have_the_names_keys_and_indexes_the_models_use(deployed, packaged):  # noqa: F811
    import os

    ddb = deployed["session"].client("dynamodb")
    local_to_env = {v: k for k, v in os.environ.items() if k.startswith("TABLE_")}
    env = packaged.config.environment
    assert {t for t in ddb.list_tables()["TableNames"]} == {v for k, v in env.items() if k.startswith("TABLE_")}
    models = _models()
    assert models
    for model in models:
        name = env[local_to_env[model.Meta.table_name]]
        table = ddb.describe_table(TableName=name)["Table"]
        keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
        assert keys["HASH"] == model._hash_key_attribute().attr_name, model
        if model._range_key_attribute() is not None:
            assert keys["RANGE"] == model._range_key_attribute().attr_name, model
        indexes = {i["IndexName"]: {k["KeyType"]: k["AttributeName"] for k in i["KeySchema"]}
                   for i in table.get("GlobalSecondaryIndexes", [])}
        for index_name, index in model._indexes.items():
            assert index_name in indexes, f"{name} lacks {index_name}"
            index_keys = {("HASH" if a.is_hash_key else "RANGE"): a.attr_name
                          for a in index.Meta.attributes.values() if a.is_hash_key or a.is_range_key}
            assert indexes[index_name] == index_keys, f"{name}: {index_name}"


def test_queues_exist_with_their_dead_letter_queues(deployed, packaged):  # noqa: F811
    sqs = deployed["session"].client("sqs")
    for spec in packaged.of_type("AWS::SQS::Queue").values():
        url = sqs.get_queue_url(QueueName=spec["Properties"]["QueueName"])["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if "RedrivePolicy" in spec["Properties"]:
            target = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
            dlq = spec["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert target.endswith(":" + packaged.resources[dlq]["Properties"]["QueueName"])
            assert target.startswith("arn:aws-cn:sqs:cn-north-1:")


def test_functions_run_the_uploaded_code_with_the_environment_and_role_they_expect(deployed, packaged):  # noqa: F811
    session = deployed["session"]
    lam, iam, sqs = session.client("lambda"), session.client("iam"), session.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=packaged.config.raw["custom"]["notifyQueueName"])["QueueUrl"]
    names = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert names == {packaged.config.function_name(k) for k in packaged.config.functions}
    for key, function in packaged.config.functions.items():
        logical, spec = packaged.function_resource(key)
        config = lam.get_function(FunctionName=packaged.config.function_name(key))["Configuration"]
        assert config["Handler"] == function.handler
        assert config["Runtime"] == "python3.12"
        assert config["Timeout"] == function.timeout
        variables = dict(config["Environment"]["Variables"])
        expected_env = {**packaged.config.environment, **function.environment}
        # queue URLs (the notify queue's, a function's own queues'): moto spells the URL's
        # domain differently in CloudFormation and in SQS
        raw = {**packaged.config.raw["provider"]["environment"],
               **(packaged.config.raw["functions"][key].get("environment") or {})}
        queues = packaged.of_type("AWS::SQS::Queue")
        for name, value in raw.items():
            if isinstance(value, dict) and value.get("Ref") in queues:
                queue = queue_url if name == "NOTIFY_QUEUE_URL" else sqs.get_queue_url(
                    QueueName=queues[value["Ref"]]["Properties"]["QueueName"])["QueueUrl"]
                assert variables.pop(name).split("/")[-2:] == queue.split("/")[-2:], (key, name)
                expected_env.pop(name)
        if expected_env.pop("CUSTOMER_EVENTS_TOPIC_ARN", None):  # the topic, by its ARN
            topic = deployed["resources"]["CustomerEventsTopic"]["PhysicalResourceId"]
            assert variables.pop("CUSTOMER_EVENTS_TOPIC_ARN") == topic, key
        assert variables == expected_env, key
        role_id = spec["Properties"]["Role"]["Fn::GetAtt"][0]
        role_name = deployed["resources"][role_id]["PhysicalResourceId"]
        assert config["Role"] == iam.get_role(RoleName=role_name)["Role"]["Arn"]
        assert iam.list_role_policies(RoleName=role_name)["PolicyNames"]
        artifact = deployed["uploaded"][spec["Properties"]["Code"]["S3Key"]]
        digest = base64.b64encode(hashlib.sha256(artifact.read_bytes()).digest()).decode()
        assert config["CodeSha256"] == digest, f"{key} does not run its uploaded zip"


def test_the_handlers_named_in_the_template_exist_in_the_zips(packaged):  # noqa: F811
    import zipfile

    for key, function in packaged.config.functions.items():
        module_path = function.handler.rsplit(".", 1)[0] + ".py"
        with zipfile.ZipFile(packaged.out / f"{key}.zip") as archive:
            source = archive.read(module_path).decode()
        assert f"{function.attribute} =" in source or f"def {function.attribute}(" in source, key

"""The local stack's tables, queues, key and secrets equal what serverless.yml defines."""
from __future__ import annotations

import json

import pytest

from infra.local import resources
from infra.local.stack import LocalStack


@pytest.fixture(scope="module")
def stack():
    running = LocalStack(port=0, demo=False, schedules=False, queues=False).start()
    yield running
    running.stop()


def _key(items, *fields):
    return sorted(tuple(i[f] for f in fields) for i in items)


def test_tables_equal_their_definitions(stack):
    ddb = stack._session.client("dynamodb")
    tables = stack.config.resources_of_type("AWS::DynamoDB::Table")
    assert tables, "serverless.yml defines no table"
    for logical, spec in tables.items():
        props = spec["Properties"]
        got = ddb.describe_table(TableName=props["TableName"])["Table"]
        assert got["KeySchema"] == props["KeySchema"], logical
        assert _key(got["AttributeDefinitions"], "AttributeName", "AttributeType") == \
            _key(props["AttributeDefinitions"], "AttributeName", "AttributeType"), logical
        want_gsis = {g["IndexName"]: g for g in props.get("GlobalSecondaryIndexes", [])}
        got_gsis = {g["IndexName"]: g for g in got.get("GlobalSecondaryIndexes", [])}
        assert set(got_gsis) == set(want_gsis), logical
        for name, gsi in want_gsis.items():
            assert got_gsis[name]["KeySchema"] == gsi["KeySchema"], (logical, name)
            assert got_gsis[name]["Projection"]["ProjectionType"] == gsi["Projection"]["ProjectionType"]
            assert sorted(got_gsis[name]["Projection"].get("NonKeyAttributes", [])) == \
                sorted(gsi["Projection"].get("NonKeyAttributes", []))
        ttl = ddb.describe_time_to_live(TableName=props["TableName"])["TimeToLiveDescription"]
        want_ttl = props.get("TimeToLiveSpecification")
        if want_ttl and want_ttl.get("Enabled"):
            assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", want_ttl["AttributeName"]), logical
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED", logical


def test_queues_and_redrive_equal_their_definitions(stack):
    sqs = stack._session.client("sqs")
    queues = stack.config.resources_of_type("AWS::SQS::Queue")
    assert queues
    for logical, spec in queues.items():
        props = spec["Properties"]
        attrs = sqs.get_queue_attributes(QueueUrl=stack.refs[logical]["Ref"], AttributeNames=["All"])["Attributes"]
        assert attrs["QueueArn"].endswith(":" + props["QueueName"])
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds"):
            if key in props:
                assert attrs[key] == str(props[key]), (logical, key)
        if "RedrivePolicy" in props:
            policy = json.loads(attrs["RedrivePolicy"])
            dlq = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert policy["deadLetterTargetArn"] == stack.refs[dlq]["Arn"], logical
            assert int(policy["maxReceiveCount"]) == int(props["RedrivePolicy"]["maxReceiveCount"]), logical
        else:
            assert "RedrivePolicy" not in attrs, logical


def test_the_pii_key_alias_and_the_secrets_parameters_exist(stack):
    kms = stack._session.client("kms")
    aliases = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    assert stack.environment["PII_KMS_KEY_ID"] in aliases
    ssm = stack._session.client("ssm")
    path = stack.environment["SECRETS_PATH"]
    for name in ("WECHAT_TOKEN", "WECHAT_ENCODING_AES_KEY", "WECHAT_APP_SECRET", "SESSION_SECRET"):
        parameter = ssm.get_parameter(Name=f"{path}/{name}", WithDecryption=True)["Parameter"]
        assert parameter["Type"] == "SecureString"
        assert parameter["Value"] == stack.environment[name]


def test_functions_see_the_stack(stack):
    env = stack.environment
    assert env["WECHAT_API_BASE"] == f"{stack.url}/_wechat/" and env["WECHAT_OPEN_BASE"] == f"{stack.url}/_wechat/"
    assert env["PUBLIC_BASE_URL"] == stack.url
    assert env["NOTIFY_QUEUE_URL"] == stack.refs["NotifyEventsQueue"]["Ref"]
    client_env = stack.client_environment()
    assert client_env["AWS_ENDPOINT_URL"] == stack.moto_url
    assert client_env["AWS_ENDPOINT_URL_LAMBDA"] == stack.url


def test_moto_requests_are_serialized_through_the_method_it_dispatches_to():
    from moto.dynamodb.responses import DynamoHandler
    from moto.sqs.responses import SQSResponse

    resources.serialize_requests()  # as tests/conftest.py and the stack do; idempotent
    assert DynamoHandler.call_action.serialized and SQSResponse.call_action.serialized


@pytest.mark.parametrize("change", ["dispatch elsewhere", "no call_action"])
def test_serializing_refuses_loudly_a_moto_that_dispatches_elsewhere(change, monkeypatch):
    from moto.core.responses import BaseResponse
    from moto.dynamodb.responses import DynamoHandler

    if change == "dispatch elsewhere":
        def _dispatch(self, request, full_url=None, headers=None):
            self.setup_class(request, full_url, headers)
            return self.handle_action()

        monkeypatch.setattr(BaseResponse, "_dispatch", _dispatch)
    else:
        monkeypatch.setattr(DynamoHandler, "call_action", None)
    with pytest.raises(RuntimeError, match=r"no longer routes every request of DynamoHandler through"):
        resources.serialize_requests()


def test_a_setting_functions_give_different_values_is_not_shared_by_the_process():
    """The local stack runs every function in one process: a function's own setting is
    shared only when no other function says otherwise (the webhook's message mode is; the
    PII encryption context of booking, loan_apply and notify is not, or every feature would
    seal under the last one's name)."""
    from tests.conftest import CONFIG

    env = resources.local_environment(CONFIG, resources.placeholders(CONFIG))
    assert env["WECHAT_MESSAGE_MODE"]
    assert "PII_CONTEXT_FEATURE" not in env

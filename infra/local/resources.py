"""Create the tables, queues, topics and keys that serverless.yml defines, in moto (tests and the
local stack alike), from that one definition."""
from __future__ import annotations

import json
import os
from typing import Any

import boto3

from infra.local.slsconfig import ServerlessConfig

# Local defaults for the WeChat app; every one can be overridden from the environment.
LOCAL_WECHAT = {
    "WECHAT_TOKEN": "localtoken",
    "WECHAT_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "WECHAT_APP_SECRET": "localsecret0000000000000000000000",
}
LOCAL_SECRETS = {
    "SESSION_SECRET": "local-session-secret-not-for-production",
    "PII_HASH_KEY": "local-pii-hash-key-not-for-production",
}

_TABLE_KEYS = (
    "TableName",
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "StreamSpecification",
)


# botocore (and so moto) knows no Cognito user pools in the aws-cn partition: locally the
# staff pool lives in this region of moto's, as a China stage's IdP lives outside it.
COGNITO_REGION = "ap-east-1"


def _intrinsic(value: Any, refs: dict[str, dict[str, str]]) -> Any:
    """Resolve the few intrinsics the local stack needs: Ref, GetAtt and Join."""
    if not isinstance(value, dict) or len(value) != 1:
        return value
    (name, arg), = value.items()
    if name == "Ref":
        return refs[arg]["Ref"]
    if name == "Fn::GetAtt":
        logical, attribute = arg
        return refs[logical][attribute]
    if name == "Fn::Join":
        separator, items = arg
        return separator.join(str(_intrinsic(item, refs)) for item in items)
    return value


def create_all(config: ServerlessConfig, session: boto3.session.Session | None = None) -> dict:
    """Create every supported resource; returns {logical id: {"Ref": ..., "Arn": ...}}."""
    session = session or boto3.session.Session()
    refs: dict[str, dict[str, str]] = {}
    kms = session.client("kms")
    for logical, spec in config.resources_of_type("AWS::KMS::Key").items():
        meta = kms.create_key(Description=spec["Properties"].get("Description", logical))["KeyMetadata"]
        refs[logical] = {"Ref": meta["KeyId"], "Arn": meta["Arn"]}
    for logical, spec in config.resources_of_type("AWS::KMS::Alias").items():
        props = spec["Properties"]
        kms.create_alias(AliasName=props["AliasName"], TargetKeyId=_intrinsic(props["TargetKeyId"], refs))
        refs[logical] = {"Ref": props["AliasName"]}

    sqs = session.client("sqs")
    queues = config.resources_of_type("AWS::SQS::Queue")
    # dead-letter queues first, so redrive policies can point at them
    ordered = sorted(queues.items(), key=lambda kv: "RedrivePolicy" in kv[1].get("Properties", {}))
    for logical, spec in ordered:
        props = spec["Properties"]
        attributes = {}
        if "VisibilityTimeout" in props:
            attributes["VisibilityTimeout"] = str(props["VisibilityTimeout"])
        if "MessageRetentionPeriod" in props:
            attributes["MessageRetentionPeriod"] = str(props["MessageRetentionPeriod"])
        if "RedrivePolicy" in props:
            policy = props["RedrivePolicy"]
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": _intrinsic(policy["deadLetterTargetArn"], refs),
                    "maxReceiveCount": str(policy["maxReceiveCount"]),
                }
            )
        url = sqs.create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        refs[logical] = {"Ref": url, "Arn": arn, "QueueName": props["QueueName"]}

    refs.update(_create_topics(config, session, refs))

    ddb = session.client("dynamodb")
    for logical, spec in config.resources_of_type("AWS::DynamoDB::Table").items():
        props = spec["Properties"]
        kwargs = {k: props[k] for k in _TABLE_KEYS if k in props}
        kwargs["BillingMode"] = "PAY_PER_REQUEST"
        for index in kwargs.get("GlobalSecondaryIndexes", []):
            index.pop("ProvisionedThroughput", None)
        meta = ddb.create_table(**kwargs)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(
                TableName=props["TableName"],
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        refs[logical] = {"Ref": props["TableName"], "Arn": meta["TableArn"]}
    refs.update(_create_user_pools(config, session))
    return refs


def _create_topics(config: ServerlessConfig, session: boto3.session.Session,
                   refs: dict[str, dict[str, str]]) -> dict:
    """SNS topics and their subscriptions; moto's SNS delivers what is published to each
    subscribed queue (raw, where the subscription says so), as SNS does."""
    out: dict[str, dict[str, str]] = {}
    sns = session.client("sns")
    for logical, spec in config.resources_of_type("AWS::SNS::Topic").items():
        arn = sns.create_topic(Name=spec["Properties"]["TopicName"])["TopicArn"]
        out[logical] = {"Ref": arn, "TopicArn": arn}
    for logical, spec in config.resources_of_type("AWS::SNS::Subscription").items():
        props = spec["Properties"]
        attributes = {"RawMessageDelivery": "true"} if props.get("RawMessageDelivery") else {}
        arn = sns.subscribe(TopicArn=_intrinsic(props["TopicArn"], {**refs, **out}), Protocol=props["Protocol"],
                            Endpoint=_intrinsic(props["Endpoint"], refs), Attributes=attributes,
                            ReturnSubscriptionArn=True)["SubscriptionArn"]
        out[logical] = {"Ref": arn}
    return out


def _create_user_pools(config: ServerlessConfig, session: boto3.session.Session) -> dict:
    """The staff user pools, their groups and app clients (infra/resources/staff.yml), in
    moto's cognito-idp, when the stage creates them."""
    refs: dict[str, dict[str, str]] = {}
    idp = session.client("cognito-idp", region_name=COGNITO_REGION)
    for logical, spec in config.resources_of_type("AWS::Cognito::UserPool").items():
        props = spec["Properties"]
        custom = [{k: v for k, v in a.items() if k != "Required"} for a in props.get("Schema", [])
                  if a["Name"] not in STANDARD_ATTRIBUTES]
        pool = idp.create_user_pool(PoolName=props["UserPoolName"], Schema=custom)["UserPool"]
        refs[logical] = {"Ref": pool["Id"], "Arn": pool["Arn"],
                         "ProviderURL": f"cognito-idp.{COGNITO_REGION}.amazonaws.com/{pool['Id']}"}
    for logical, spec in config.resources_of_type("AWS::Cognito::UserPoolClient").items():
        props = spec["Properties"]
        if props["UserPoolId"].get("Ref") in refs:
            client = idp.create_user_pool_client(
                UserPoolId=_intrinsic(props["UserPoolId"], refs), ClientName=props["ClientName"],
                GenerateSecret=False, ReadAttributes=props.get("ReadAttributes", []),
                # the local IdP front end (infra/local/idp.py) signs demo staff in as administrator
                ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            )["UserPoolClient"]
            refs[logical] = {"Ref": client["ClientId"]}
    for logical, spec in config.resources_of_type("AWS::Cognito::UserPoolGroup").items():
        props = spec["Properties"]
        if props["UserPoolId"].get("Ref") in refs:
            idp.create_group(UserPoolId=_intrinsic(props["UserPoolId"], refs), GroupName=props["GroupName"],
                             Description=props.get("Description", ""))
            refs[logical] = {"Ref": props["GroupName"]}
    return refs


STANDARD_ATTRIBUTES = {"name", "email", "phone_number", "preferred_username", "given_name", "family_name"}


def placeholders(config: ServerlessConfig) -> dict[str, dict[str, str]]:
    """References for every resource before any exists (`pending-<logical id>` for each of
    its attributes): enough to compute the environment, whose table names do not depend on
    them, before the resources are made."""
    import collections

    return {k: collections.defaultdict(lambda k=k: f"pending-{k}") for k in config.resources}


def function_environment(config: ServerlessConfig, refs: dict, function_key: str | None = None) -> dict[str, str]:
    """The environment a function sees: provider's and its own, intrinsics resolved."""
    env = dict(config.raw["provider"].get("environment", {}))
    if function_key:
        env.update(config.raw["functions"][function_key].get("environment") or {})
    return {k: str(_intrinsic(v, refs)) for k, v in env.items()}


def local_environment(config: ServerlessConfig, refs: dict) -> dict[str, str]:
    """Everything the local stack and the tests put in os.environ for the functions: the
    provider's environment and each function's own. They share one process here, so a
    setting that functions give different values (PII_CONTEXT_FEATURE) is left unset, as
    for a function that has none."""
    env = function_environment(config, refs)
    own: dict[str, set[str]] = {}
    for key in config.functions:
        for name, value in (config.raw["functions"][key].get("environment") or {}).items():
            own.setdefault(name, set()).add(str(_intrinsic(value, refs)))
    env.update({name: values.pop() for name, values in own.items() if len(values) == 1})
    for key, default in {**LOCAL_WECHAT, **LOCAL_SECRETS}.items():
        env[key] = os.environ.get(key, default)
    return env


def put_secrets(environment: dict[str, str], session: boto3.session.Session | None = None) -> None:
    """The stage's secrets as the SecureString parameters AWS would read, one per secret
    (locally the environment wins, but the parameters are there for whatever reads them)."""
    from functions.common.config import SECRET_NAMES

    path = environment.get("SECRETS_PATH")
    if path:
        ssm = (session or boto3.session.Session()).client("ssm")
        for name in SECRET_NAMES:
            if name in environment:
                ssm.put_parameter(Name=f"{path}/{name}", Value=environment[name], Type="SecureString",
                                  Overwrite=True)


def serialize_requests() -> None:
    """Make moto's DynamoDB and SQS apply each request atomically, as the services do.
    moto checks a ConditionExpression and writes without a lock, so two threads (or two
    requests to the threaded moto server) can both pass the same condition; and its queue
    marks messages received while other requests walk the same messages, so a receive can
    fail half-way (an error the SDK retries) and leave its messages in flight until their
    visibility timeout. A receive must not long-poll (it would hold the queue's lock).
    Idempotent; process-wide; a lock per service. RuntimeError when this moto no longer
    sends every request through the method locked here: the lock would guard nothing."""
    import threading

    from moto.dynamodb.responses import DynamoHandler
    from moto.sqs.responses import SQSResponse

    for handler in (DynamoHandler, SQSResponse):
        _check_dispatch(handler)
        if getattr(handler.call_action, "serialized", False):
            continue
        lock, unlocked = threading.Lock(), handler.call_action

        def call_action(self, lock=lock, unlocked=unlocked):
            with lock:
                return unlocked(self)

        call_action.serialized = True  # type: ignore[attr-defined]
        handler.call_action = call_action  # type: ignore[method-assign]


def _check_dispatch(handler: type) -> None:
    """Every request reaches a moto handler through `dispatch`, which calls `_dispatch`,
    which calls `call_action` (moto 5); say so loudly the day that is no longer true."""
    import moto

    def calls(function: object, name: str) -> bool:
        return name in getattr(getattr(function, "__code__", None), "co_names", ())

    dispatch = getattr(getattr(handler, "dispatch", None), "__func__", None)
    if not (callable(getattr(handler, "call_action", None)) and calls(dispatch, "_dispatch")
            and calls(getattr(handler, "_dispatch", None), "call_action")):
        raise RuntimeError(
            f"moto {moto.__version__} no longer routes every request of {handler.__name__} through "
            f"{handler.__name__}.call_action (dispatch → _dispatch → call_action), so the lock that makes "
            "its requests atomic (infra/local/resources.serialize_requests) would guard nothing: adapt it "
            "to this moto, or go back to the moto it was written for (requirements/dev.txt)")

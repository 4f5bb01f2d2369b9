"""The packaged CloudFormation template: cfn-lint clean, partition-agnostic, and every table,
queue, schedule, route, alarm and stage setting the issue asks for."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.test_package import ROOT, packaged, packaged_prod  # noqa: F401 - shared fixtures

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("package")]



def _cfn_lint(paths: list[Path], regions: list[str]) -> subprocess.Popen:
    """cfn-lint started on the templates (its answer: `.communicate()`, `.returncode`)."""
    return subprocess.Popen(  # noqa: S603 - the venv's own cfn-lint on our templates
        [str(Path(sys.executable).parent / "cfn-lint"), "--regions", *regions, "--", *map(str, paths)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_cfn_lint_passes_on_the_templates(packaged, packaged_prod):  # noqa: F811
    """dev (both templates) in a China region and a global one; prod, with its VPC, NAT
    gateways, endpoints and custom domain, in both China regions and Hong Kong."""
    assert "EgressVpc" in packaged_prod.resources and "ApiDomainName" in packaged_prod.resources
    dev = _cfn_lint([packaged.out / "cloudformation-template-create-stack.json",  # both at once
                     packaged.out / "cloudformation-template-update-stack.json"], ["cn-north-1", "us-east-1"])
    prod = _cfn_lint([packaged_prod.out / "cloudformation-template-update-stack.json"],
                     ["cn-north-1", "cn-northwest-1", "ap-east-1"])
    for linted in (dev, prod):
        out, err = linted.communicate(timeout=300)
        assert linted.returncode == 0, out + err


def _arn_pieces(node, joined=False):
    """Every string that starts an ARN, with what follows it inside a Fn::Join."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Fn::Join":
                parts = value[1]
                for i, part in enumerate(parts):
                    if isinstance(part, str) and part.endswith("arn:"):
                        yield part + json.dumps(parts[i + 1] if i + 1 < len(parts) else None)
                    else:
                        yield from _arn_pieces(part)
            else:
                yield from _arn_pieces(value)
    elif isinstance(node, list):
        for value in node:
            yield from _arn_pieces(value)
    elif isinstance(node, str):
        for match in re.finditer(r"arn:\S*", node):
            yield match.group()


def test_nothing_is_tied_to_one_partition_or_region(packaged):  # noqa: F811
    text = json.dumps(packaged.template)
    assert "arn:aws:" not in text and "arn:aws-cn:" not in text
    assert "amazonaws.com.cn" not in text
    assert not re.search(r"\b(cn|us|eu|ap)-(north|south|east|west|central|northwest)+-\d\b", text)
    pieces = list(_arn_pieces(packaged.template["Resources"]))
    assert pieces
    for piece in pieces:
        assert piece.startswith("arn:${AWS::Partition}:") or piece.endswith('arn:{"Ref": "AWS::Partition"}'), piece


def test_every_table_is_on_demand_recoverable_and_encrypted_with_the_project_key(packaged):  # noqa: F811
    tables = packaged.of_type("AWS::DynamoDB::Table")
    assert tables
    for logical, table in tables.items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", logical
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, logical
        assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Ref": "PiiKey"}}
        assert props["DeletionProtectionEnabled"] is False, logical
        assert "DeletionPolicy" not in table, logical


def test_prod_tables_are_protected_and_retained(packaged_prod):  # noqa: F811
    for logical, table in packaged_prod.of_type("AWS::DynamoDB::Table").items():
        assert table["Properties"]["DeletionProtectionEnabled"] is True, logical
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", logical


def test_tables_keep_ttl_where_the_models_use_it(packaged):  # noqa: F811
    """A model with a TTLAttribute needs the table's TTL on that attribute."""
    import functions.booking.store  # noqa: F401
    import functions.branch_lookup.store  # noqa: F401
    import functions.loan_apply.store  # noqa: F401
    import functions.notify.corebank  # noqa: F401
    import functions.notify.store  # noqa: F401
    import functions.products.store  # noqa: F401
    import functions.webhook.dedup  # noqa: F401
    from functions.common.dynamo import Model, TTLAttribute

    local_names = {spec["Properties"]["TableName"].replace("-local-", "-dev-"): logical
                   for logical, spec in packaged.config.resources_of_type("AWS::DynamoDB::Table").items()}
    tables = packaged.of_type("AWS::DynamoDB::Table")
    stack = [Model]
    seen = 0
    while stack:
        model = stack.pop()
        stack.extend(model.__subclasses__())
        meta = getattr(model, "Meta", None)
        ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
        if not ttl or meta is None:
            continue
        name = meta.table_name.replace("-local-", "-dev-")
        table = tables[local_names[name]]["Properties"]
        assert table.get("TimeToLiveSpecification") == {"AttributeName": ttl[0], "Enabled": True}, name
        seen += 1
    assert seen


def test_every_queue_has_a_dead_letter_queue_and_an_alarm_on_it(packaged):  # noqa: F811
    queues = packaged.of_type("AWS::SQS::Queue")
    dead_letter = {q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
                   for q in queues.values() if "RedrivePolicy" in q["Properties"]}
    assert dead_letter
    for logical, queue in queues.items():
        assert queue["Properties"].get("KmsMasterKeyId") == {"Ref": "PiiKey"}, logical
        if logical not in dead_letter:
            assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] >= 1, logical
    for logical in dead_letter:
        alarm = packaged.resources[f"{logical}DepthAlarm"]["Properties"]
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
        assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [logical, "QueueName"]}}]


def test_queue_events_report_batch_item_failures_and_queues_outlast_their_consumers(packaged):  # noqa: F811
    mappings = packaged.of_type("AWS::Lambda::EventSourceMapping")
    assert mappings
    functions = {f"{k}": v for k, v in packaged.of_type("AWS::Lambda::Function").items()}
    for logical, mapping in mappings.items():
        props = mapping["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"], logical
        queue = packaged.resources[props["EventSourceArn"]["Fn::GetAtt"][0]]["Properties"]
        timeout = functions[props["FunctionName"]["Fn::GetAtt"][0]]["Properties"]["Timeout"]
        assert queue.get("VisibilityTimeout", 30) >= timeout, f"{logical}: visibility below the function timeout"


def test_reserved_concurrency_is_the_stages_choice(packaged, packaged_prod):  # noqa: F811
    """A young account (a concurrency limit of 10) can reserve nothing: dev reserves
    nothing, prod reserves for the notify sender what infra/stages.yml says."""
    for pkg in (packaged, packaged_prod):
        reserved = {key for key in pkg.config.functions
                    if "ReservedConcurrentExecutions" in pkg.function_resource(key)[1]["Properties"]}
        assert reserved == (set() if pkg.stage == "dev" else {"notifyEvents"}), pkg.stage
    _, sender = packaged_prod.function_resource("notifyEvents")
    assert sender["Properties"]["ReservedConcurrentExecutions"] == 20


def test_account_dependent_numbers_are_stage_parameters():
    """No number that depends on the account is written in the functions' or resources'
    files: concurrency, throttling, WAF limits and log retention come from infra/stages.yml."""
    for path in [ROOT / "serverless.yml", *(ROOT / "infra").glob("*/*.yml")]:
        text = path.read_text(encoding="utf-8")
        for setting in ("reservedConcurrency", "provisionedConcurrency", "logRetentionInDays", "rateLimit",
                        "burstLimit", "Limit", "maximumConcurrency"):
            for value in re.findall(rf"\b{setting}:\s*(\S+)", text):
                assert value.startswith("${param:"), f"{path.relative_to(ROOT)}: {setting}: {value}"


def test_schedules_run_in_shanghai_time_under_the_scheduler_role(packaged):  # noqa: F811
    schedules = packaged.of_type("AWS::Scheduler::Schedule")
    assert schedules
    targets = []
    for logical, schedule in schedules.items():
        props = schedule["Properties"]
        assert props["ScheduleExpressionTimezone"] == "Asia/Shanghai", logical
        assert props["Target"]["RoleArn"] == {"Fn::GetAtt": ["SchedulerInvokeRole", "Arn"]}, logical
        targets.append(props["Target"]["Arn"])
    role = packaged.resources["SchedulerInvokeRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    [statement] = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "lambda:InvokeFunction"
    assert sorted(map(json.dumps, statement["Resource"])) == sorted({json.dumps(t) for t in targets})


def test_every_function_has_error_rate_and_throttle_alarms_to_the_topic(packaged):  # noqa: F811
    for key in packaged.config.functions:
        logical, _ = packaged.function_resource(key)
        base = logical.removesuffix("LambdaFunction")
        errors = packaged.resources[f"{base}ErrorRateAlarm"]["Properties"]
        dims = [m["MetricStat"]["Metric"]["Dimensions"] for m in errors["Metrics"] if "MetricStat" in m]
        assert dims == [[{"Name": "FunctionName", "Value": {"Ref": logical}}]] * 2, key
        assert errors["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        throttles = packaged.resources[f"{base}ThrottlesAlarm"]["Properties"]
        assert (throttles["MetricName"], throttles["Threshold"]) == ("Throttles", 0), key
    assert packaged.resources["AlarmTopic"]["Type"] == "AWS::SNS::Topic"


def test_the_webhook_p99_alarm_fires_above_two_seconds(packaged):  # noqa: F811
    alarm = packaged.resources["WebhookP99DurationAlarm"]["Properties"]
    assert (alarm["MetricName"], alarm["ExtendedStatistic"], alarm["Threshold"]) == ("Duration", "p99", 2000)
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "WebhookLambdaFunction"}}]


def test_an_operator_alert_that_notify_logs_raises_the_alarm(packaged):  # noqa: F811
    from functions.notify import delivery

    metric = packaged.resources["OperatorAlertMetricFilter"]["Properties"]
    events_log, _ = packaged.function_resource("notifyEvents")
    assert metric["LogGroupName"] == {"Ref": events_log.replace("LambdaFunction", "LogGroup")}
    assert metric["FilterPattern"] == f'{{ $.message = "{delivery.ALERT_LINE}" }}'
    [counted] = metric["MetricTransformations"]
    alarm = packaged.resources["OperatorAlertAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (counted["MetricNamespace"], counted["MetricName"])
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_prod_alarms_reach_the_operators_by_email(packaged_prod):  # noqa: F811
    subscription = packaged_prod.resources["AlarmEmailSubscription"]["Properties"]
    assert subscription["Protocol"] == "email" and "@" in subscription["Endpoint"]


def test_the_api_is_regional_throttled_and_limits_request_size(packaged):  # noqa: F811
    [api] = packaged.of_type("AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["EndpointConfiguration"]["Types"] == ["REGIONAL"]
    [deployment] = packaged.of_type("AWS::ApiGateway::Deployment").values()
    stage = deployment["Properties"]["StageDescription"]
    assert stage["ThrottlingRateLimit"] > 0 and stage["ThrottlingBurstLimit"] >= stage["ThrottlingRateLimit"]
    assert stage["MethodSettings"][0]["ResourcePath"] == "/*"
    acl = packaged.resources["ApiWebAcl"]["Properties"]
    size = next(r for r in acl["Rules"] if "SizeConstraintStatement" in r["Statement"])
    statement = size["Statement"]["SizeConstraintStatement"]
    assert size["Action"] == {"Block": {}}
    assert statement["FieldToMatch"] == {"Body": {"OversizeHandling": "MATCH"}}
    assert 1024 <= statement["Size"] <= 65536
    association = packaged.resources["ApiWebAclAssociation"]
    assert association["DependsOn"] == [next(iter(packaged.of_type("AWS::ApiGateway::Deployment")))]


def test_the_methods_in_the_template_are_the_http_events(packaged):  # noqa: F811
    """osls compiled one API Gateway method per http event, to the right function."""
    resources = packaged.of_type("AWS::ApiGateway::Resource")

    def path_of(ref) -> str:
        if "Fn::GetAtt" in ref:
            return ""
        spec = resources[ref["Ref"]]["Properties"]
        return f"{path_of(spec['ParentId'])}/{spec['PathPart']}"

    compiled = set()
    for method in packaged.of_type("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        if props["HttpMethod"] == "OPTIONS":
            continue
        uri = json.dumps(props["Integration"]["Uri"])
        function = re.search(r'"(\w+)LambdaFunction"', uri).group(1)
        compiled.add((props["HttpMethod"], path_of(props["ResourceId"]) or "/", function))
    expected = set()
    for key, function in packaged.config.functions.items():
        logical, _ = packaged.function_resource(key)
        for method, path in function.http_events():
            expected.add((method, path, logical.removesuffix("LambdaFunction")))
    assert compiled == expected


def test_outputs_give_the_webhook_url_for_the_wechat_console(packaged):  # noqa: F811
    outputs = packaged.template["Outputs"]
    assert outputs["WebhookUrl"]["Value"] == "https://wx-dev.example-bank.cn/wechat"
    assert outputs["ExecuteApiWebhookUrl"]["Value"]["Fn::Sub"].endswith("${AWS::URLSuffix}/dev/wechat")


def test_every_staff_method_is_behind_the_token_authorizer(packaged):  # noqa: F811
    """API Gateway checks the staff token before any staff route's function runs (the
    function checks it again): a TOKEN authorizer on staffAuthorizer, cached a minute, on
    every method under /staff/ and on no other; API Gateway may invoke it."""
    [(authorizer_id, authorizer)] = packaged.of_type("AWS::ApiGateway::Authorizer").items()
    props = authorizer["Properties"]
    assert props["Type"] == "TOKEN" and props["IdentitySource"] == "method.request.header.Authorization"
    assert props["AuthorizerResultTtlInSeconds"] == 60
    assert "StaffAuthorizerLambdaFunction" in json.dumps(props["AuthorizerUri"])
    resources = packaged.of_type("AWS::ApiGateway::Resource")
    guarded, open_ = [], []
    for key, method in packaged.of_type("AWS::ApiGateway::Method").items():
        path = _resource_path(resources, method["Properties"].get("ResourceId"))
        if method["Properties"]["HttpMethod"] == "OPTIONS":
            continue
        if "/staff/" in path:
            assert method["Properties"]["AuthorizationType"] == "CUSTOM", key
            assert method["Properties"]["AuthorizerId"] == {"Ref": authorizer_id}, key
            guarded.append(path)
        else:
            assert method["Properties"].get("AuthorizationType", "NONE") == "NONE", key
            open_.append(path)
    assert len(guarded) == 8 and open_  # booking 2, loan_apply 5, audit 1
    permissions = [p["Properties"] for p in packaged.of_type("AWS::Lambda::Permission").values()
                   if "StaffAuthorizer" in json.dumps(p["Properties"]["FunctionName"])]
    assert permissions and all(p["Principal"] == "apigateway.amazonaws.com" for p in permissions)
    # its refusals in the house's error shape
    answers = {r["Properties"]["ResponseType"]: r["Properties"] for r in
               packaged.of_type("AWS::ApiGateway::GatewayResponse").values()}
    assert json.loads(answers["UNAUTHORIZED"]["ResponseTemplates"]["application/json"])["code"] == "unauthorized"
    assert answers["UNAUTHORIZED"]["StatusCode"] == "401" and answers["ACCESS_DENIED"]["StatusCode"] == "403"


def _resource_path(resources: dict, ref: dict | None) -> str:
    """The path of an API Gateway resource, from its parents' path parts."""
    parts = []
    while isinstance(ref, dict) and ref.get("Ref") in resources:
        props = resources[ref["Ref"]]["Properties"]
        parts.append(props["PathPart"])
        ref = props["ParentId"]
    return "/" + "/".join(reversed(parts))

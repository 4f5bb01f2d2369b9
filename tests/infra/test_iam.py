"""Least privilege, read from the packaged template: one role per function, naming only the
tables, indexes, queues, key, secrets and functions that its code uses.

What a feature's code uses is found in the code itself: the tables it names through
`table_meta("...")`, the function keys it names (intent and query invocations), whether it
reaches `events.publish` (the notify queue), `events.announce` (the customer-events topic),
`pii.seal/unseal` or SNS's SMS, following imports from its folder into
functions/common. Which secrets a function reads is followed from its own handler
(tests/infra/code_map.py), so a role is held to exactly its function's secrets.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from functools import cache

import pytest

from functions.common import config
from tests.infra import code_map
from tests.infra.test_package import ROOT, Package, packaged  # noqa: F401 - shared fixture

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("package")]

NOT_DATA_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
SMS_ONLY = {"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}


# ----- what the code uses --------------------------------------------------------------------

@cache
def _modules() -> dict[str, tuple[set[str], str]]:
    """{module: (imported functions.* modules, source)} for every module under functions/."""
    out = {}
    for path in (ROOT / "functions").rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        source = path.read_text(encoding="utf-8")
        imported = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
                imported |= {f"{node.module}.{a.name}" for a in node.names}
        out[module] = ({m for m in imported if m.startswith("functions.")}, source)
    return out


@cache
def _reachable(feature: str) -> frozenset[str]:
    modules = _modules()
    todo = [m for m in modules if m.startswith(f"functions.{feature}.") or m == f"functions.{feature}"]
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen or module not in modules:
            continue
        seen.add(module)
        todo.extend(modules[module][0])
    return frozenset(seen)


@dataclass
class Uses:
    tables: set[str] = field(default_factory=set)  # env names, e.g. TABLE_BOOKINGS
    functions: set[str] = field(default_factory=set)
    publishes: bool = False
    announces: bool = False
    pii: bool = False
    sms: bool = False


TABLE_META = re.compile(r'(?:table_meta|\.table)\(\s*"([\w-]+)"')  # a model's, or a plain call's


def _table_envs(source: str) -> set[str]:
    return {f"TABLE_{n.upper().replace('-', '_')}" for n in TABLE_META.findall(source)}


def uses(feature: str, function_keys: set[str]) -> Uses:
    found = Uses()
    sources = {m: _modules()[m][1] for m in _reachable(feature)}
    for module, source in sources.items():
        found.tables |= _table_envs(source)
        tree = ast.parse(source)
        found.functions |= {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in function_keys}
        found.publishes |= "events.publish(" in source and module != "functions.common.events"
        found.announces |= "events.announce(" in source and module != "functions.common.events"
        found.pii |= bool(re.search(r"pii\.(seal|unseal)\(", source))
        found.sms |= 'client("sns")' in source and module != "functions.common.events"  # there: the topic
    return found


def own_tables(feature: str) -> set[str]:
    """Tables the feature's own folder names (not those of common it reaches)."""
    out = set()
    for module in _reachable(feature):
        if module.startswith(f"functions.{feature}."):
            out |= _table_envs(_modules()[module][1])
    return out


# ----- what the roles grant ------------------------------------------------------------------

def statements(role: dict) -> list[dict]:
    out = []
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            out.append(statement)
    return out


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@dataclass
class Grant:
    kind: str  # table, index, queue, topic, key, function, secret, logs, sms
    name: str
    actions: frozenset[str]
    condition: dict = field(default_factory=dict)


def grants(pkg: Package, role: dict) -> list[Grant]:
    """Each resource a role names, identified; fails on anything it cannot identify."""
    env = pkg.config.environment
    tables = {logical: spec["Properties"] for logical, spec in pkg.of_type("AWS::DynamoDB::Table").items()}
    prefix = env["FUNCTION_PREFIX"]
    out = []
    for statement in statements(role):
        actions = frozenset(as_list(statement["Action"]))
        if "NotResource" in statement:
            assert actions == {"sns:Publish"} and statement["NotResource"] == SMS_ONLY, statement
            out.append(Grant("sms", "phone numbers", actions))
            continue
        for resource in as_list(statement["Resource"]):
            if resource == "*":
                assert actions <= NOT_DATA_ACTIONS, f"'*' resource for {sorted(actions)}"
                continue
            if "Ref" in resource:
                assert pkg.resources[resource["Ref"]]["Type"] == "AWS::SNS::Topic", resource
                out.append(Grant("topic", resource["Ref"], actions))
                continue
            if "Fn::GetAtt" in resource:
                logical, attribute = resource["Fn::GetAtt"]
                assert attribute == "Arn", resource
                kind = {"AWS::DynamoDB::Table": "table", "AWS::SQS::Queue": "queue", "AWS::KMS::Key": "key",
                        "AWS::Logs::LogGroup": "logs"}[pkg.resources[logical]["Type"]]
                out.append(Grant(kind, logical, actions, statement.get("Condition", {})))
                continue
            text = resource["Fn::Sub"]
            assert "*" not in text, f"wildcard in {text}"
            assert "arn:aws" not in text
            if match := re.fullmatch(r"\$\{(\w+)\.Arn\}/index/([\w.-]+)", text):
                logical, index = match.groups()
                names = [i["IndexName"] for i in tables[logical].get("GlobalSecondaryIndexes", [])]
                assert index in names, f"{logical} has no index {index}"
                out.append(Grant("index", f"{logical}/{index}", actions))
            elif match := re.fullmatch(r"arn:\$\{AWS::Partition\}:lambda:\$\{AWS::Region\}:\$\{AWS::AccountId\}"
                                       r":function:(.+)", text):
                name = match.group(1)
                assert name.startswith(prefix) and name[len(prefix):] in pkg.config.functions, name
                out.append(Grant("function", name[len(prefix):], actions))
            elif match := re.fullmatch(r"arn:\$\{AWS::Partition\}:ssm:\$\{AWS::Region\}:\$\{AWS::AccountId\}"
                                       r":parameter(/.+)/(\w+)", text):
                assert match.group(1) == env["SECRETS_PATH"], text
                out.append(Grant("secret", match.group(2), actions))
            else:
                pytest.fail(f"unrecognised resource {text}")
    return out


def role_of(pkg: Package, key: str) -> tuple[str, dict]:
    _, function = pkg.function_resource(key)
    role_id, attribute = function["Properties"]["Role"]["Fn::GetAtt"]
    assert attribute == "Arn"
    return role_id, pkg.resources[role_id]


def table_env(pkg: Package) -> dict[str, str]:
    """{logical table: TABLE_* env name} by table name."""
    by_name = {v: k for k, v in pkg.config.environment.items() if k.startswith("TABLE_")}
    return {logical: by_name[spec["Properties"]["TableName"]]
            for logical, spec in pkg.of_type("AWS::DynamoDB::Table").items()}


# ----- tests ---------------------------------------------------------------------------------

def test_every_function_has_a_role_of_its_own_that_only_lambda_assumes(packaged):  # noqa: F811
    roles = {}
    for key in packaged.config.functions:
        role_id, role = role_of(packaged, key)
        assert role["Type"] == "AWS::IAM::Role"
        assert role_id not in roles, f"{key} shares {role_id} with {roles.get(role_id)}"
        roles[role_id] = key
        trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                          "Action": "sts:AssumeRole"}], key
        # `osls deploy function` finds the role by this name
        assert role["Properties"]["RoleName"] == packaged.config.function_name(key), key
    assert "IamRoleLambdaExecution" not in packaged.resources


def test_no_wildcards_over_data_and_no_hard_coded_partition(packaged):  # noqa: F811
    for logical, role in packaged.of_type("AWS::IAM::Role").items():
        assert "arn:aws:" not in json.dumps(role), logical
        for statement in statements(role):
            assert statement["Effect"] == "Allow", logical
            for action in as_list(statement["Action"]):
                assert "*" not in action, f"{logical}: {action}"
            for resource in as_list(statement.get("Resource", [])):
                if resource == "*":
                    assert set(as_list(statement["Action"])) <= NOT_DATA_ACTIONS, logical
                elif "Fn::Sub" in resource:
                    assert "*" not in resource["Fn::Sub"], f"{logical}: {resource}"
            if "NotResource" in statement:
                assert statement == {"Effect": "Allow", "Action": "sns:Publish", "NotResource": SMS_ONLY}, logical


def test_each_function_writes_only_its_own_log_group(packaged):  # noqa: F811
    for key in packaged.config.functions:
        logical, _ = packaged.function_resource(key)
        _, role = role_of(packaged, key)
        log_grants = [g for g in grants(packaged, role) if g.kind == "logs"]
        assert [g.name for g in log_grants] == [logical.replace("LambdaFunction", "LogGroup")], key
        assert log_grants[0].actions == {"logs:CreateLogStream", "logs:PutLogEvents"}
        for statement in statements(role):
            if any(a.startswith("logs:") for a in as_list(statement["Action"])):
                assert statement["Resource"] == {"Fn::GetAtt": [logical.replace("LambdaFunction", "LogGroup"), "Arn"]}


def test_each_role_names_only_what_its_features_code_uses(packaged):  # noqa: F811
    keys = set(packaged.config.functions)
    envs = table_env(packaged)
    consumed = {m["Properties"]["FunctionName"]["Fn::GetAtt"][0]: m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
                for m in packaged.of_type("AWS::Lambda::EventSourceMapping").values()}
    dead_letter = {logical: spec["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
                   for logical, spec in packaged.of_type("AWS::SQS::Queue").items()
                   if "RedrivePolicy" in spec["Properties"]}
    notify_queue = packaged.config.raw["provider"]["environment"]["NOTIFY_QUEUE_URL"]["Ref"]
    for key, function in packaged.config.functions.items():
        code = uses(function.feature, keys)
        logical, _ = packaged.function_resource(key)
        queues = set()
        if logical in consumed:
            queues |= {consumed[logical], dead_letter.get(consumed[logical])} - {None}
        if code.publishes:
            queues.add(notify_queue)
        # queues the function is given in its own environment (products' orders to core banking)
        own = packaged.config.raw["functions"][key].get("environment") or {}
        queues |= {v["Ref"] for v in own.values() if isinstance(v, dict) and "Ref" in v}
        _, role = role_of(packaged, key)
        for grant in grants(packaged, role):
            where = f"{key} ({function.feature}): {grant.kind} {grant.name}"
            if grant.kind in ("table", "index"):
                assert envs[grant.name.split("/")[0]] in code.tables, where
            elif grant.kind == "function":
                assert grant.name in code.functions and grant.name != key, where
            elif grant.kind == "queue":
                assert grant.name in queues, where
            elif grant.kind == "topic":
                assert code.announces and grant.actions == {"sns:Publish"}, where
            elif grant.kind == "key":
                assert code.pii or queues or code.announces, where
            elif grant.kind == "secret":
                assert grant.actions == {"ssm:GetParameters"}, where
            elif grant.kind == "sms":
                assert code.sms, where


def secrets_granted(pkg: Package, key: str) -> set[str]:
    return {g.name for g in grants(pkg, role_of(pkg, key)[1]) if g.kind == "secret"}


def test_each_role_reads_exactly_the_secrets_its_functions_code_reads(packaged):  # noqa: F811
    """No role can read another function's secret: the parameters a role may read are the
    secrets its handler's code reaches (config.secret), no more and no fewer, and the ones
    its environment names (SECRETS: fetched together, so one missing fails every read)."""
    for key, function in packaged.config.functions.items():
        reached = code_map.reach(function.handler).secrets
        assert secrets_granted(packaged, key) == reached, key
        variables = packaged.function_resource(key)[1]["Properties"]["Environment"]["Variables"]
        assert set(variables.get("SECRETS", "").split()) == reached, key


def test_the_secrets_map_sees_what_each_function_does(packaged):  # noqa: F811
    """The map is not vacuous: the webhook checks WeChat's signatures and starts sessions,
    back offices hash personal data, an intent or a reminder reads no secret at all."""
    read = {key: code_map.reach(f.handler).secrets for key, f in packaged.config.functions.items()}
    assert read["webhook"] >= {"WECHAT_TOKEN", "WECHAT_ENCODING_AES_KEY", "WECHAT_APP_SECRET", "SESSION_SECRET"}
    assert "PII_HASH_KEY" in read["bookingApi"] and "WECHAT_APP_SECRET" not in read["bookingApi"]
    assert "WECHAT_APP_SECRET" in read["notifyEvents"] and "SESSION_SECRET" not in read["notifyEvents"]
    assert read["bookingIntent"] == read["bookingReminders"] == read["branchLookupQuery"] == set()
    assert set().union(*read.values()) == set(config.SECRET_NAMES)


def test_a_role_reading_another_functions_secret_is_caught(packaged):  # noqa: F811
    """What the comparison above refuses: the booking intent given the session key."""
    _, role = role_of(packaged, "bookingIntent")
    stray = {"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": {
        "Fn::Sub": packaged.config.raw["custom"]["secretArn"] + "/SESSION_SECRET"}}
    widened = {"Properties": {"Policies": [*role["Properties"]["Policies"],
                                           {"PolicyDocument": {"Statement": [stray]}}]}}
    granted = {g.name for g in grants(packaged, widened) if g.kind == "secret"}
    assert granted == {"SESSION_SECRET"} != code_map.reach(packaged.config.functions["bookingIntent"].handler).secrets


VIA_SQS = {"StringEquals": {"kms:ViaService": {"Fn::Sub": "sqs.${AWS::Region}.${AWS::URLSuffix}"}}}
VIA_SNS = {"StringEquals": {"kms:ViaService": {"Fn::Sub": "sns.${AWS::Region}.${AWS::URLSuffix}"}}}


def test_the_pii_key_is_used_only_under_the_functions_own_feature_or_through_sqs(packaged):  # noqa: F811
    """A role decrypts only what was sealed for its own feature: every grant on the key
    carries either the feature's encryption-context condition (the function's own
    PII_CONTEXT_FEATURE, which pii.seal/unseal add) or SQS as the only way in (the queue's
    encryption). Sealing needs GenerateDataKey, opening Decrypt; nothing else is granted."""
    with_feature = set()
    for key, function in packaged.config.functions.items():
        reach = code_map.reach(function.handler)
        env = {**packaged.config.environment, **function.environment}
        on_key = [g for g in grants(packaged, role_of(packaged, key)[1]) if g.kind == "key"]
        for grant in on_key:
            assert grant.condition, f"{key}: the PII key without a condition"
        by_feature = [g for g in on_key if g.condition not in (VIA_SQS, VIA_SNS)]
        if any(g.condition == VIA_SNS for g in on_key):  # the customer-events topic's encryption
            assert uses(function.feature, set(packaged.config.functions)).announces, key
        if not (reach.seals or reach.opens):
            assert not by_feature and "PII_CONTEXT_FEATURE" not in env, key
            continue
        with_feature.add(key)
        assert env["PII_CONTEXT_FEATURE"] == function.feature, key
        assert [g.condition for g in by_feature] == [
            {"StringEquals": {"kms:EncryptionContext:feature": function.feature}}], key
        needed = {"kms:GenerateDataKey"} if reach.seals else set()
        needed |= {"kms:Decrypt"} if reach.opens else set()
        assert set(by_feature[0].actions) == needed, key
    assert with_feature == {"bookingApi", "loanApplyApi", "notifyEvents", "notifyBills", "notifyPending", "productsApi"}


WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
BRANCH_STORE = "functions.branch_lookup.store"


def _writers(module: str) -> set[str]:
    """The functions of a module that write to DynamoDB (save, batch_write, update, delete)."""
    out = set()
    for definition in code_map.modules()[module].definitions.values():
        for node in ast.walk(definition):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                    "save", "batch_write", "update", "delete"):
                out.add(definition.name)
    return out


def _table_actions(pkg: Package, key: str, table: str) -> set[str]:
    return set().union(*(g.actions for g in grants(pkg, role_of(pkg, key)[1]) if g.name == table))


def test_no_function_writes_the_branches_table_only_the_operators_import_does(packaged):  # noqa: F811
    """Branches (and their search catalogue, `_list`) are written by store.save_all alone,
    which only the operator's import command calls (infra/cli/branch_import.py, with the
    operator's own credentials): no function's code reaches it, and no role may write the
    table."""
    assert _writers(BRANCH_STORE) == {"save_all", "_list", "save_location"}
    assert "BranchRecord" not in ast.unparse(code_map.modules()[BRANCH_STORE].definitions["save_location"])
    for key, function in packaged.config.functions.items():
        reached = code_map.reach(function.handler).nodes
        assert not {(BRANCH_STORE, "save_all"), (BRANCH_STORE, "_list")} & reached, key
        assert not _table_actions(packaged, key, "BranchesTable") & WRITES, key
    assert "store.save_all(" in (ROOT / "infra" / "cli" / "branch_import.py").read_text()


def test_customers_locations_are_written_by_the_intent_and_read_where_used(packaged):  # noqa: F811
    """The location a customer sends is kept by the intent; the query (booking's nearest
    branches) reads it; the API's pages never touch it."""
    for key, function in packaged.config.functions.items():
        reach = code_map.reach(function.handler).nodes
        needed = {"dynamodb:PutItem"} if (BRANCH_STORE, "save_location") in reach else set()
        needed |= {"dynamodb:GetItem"} if (BRANCH_STORE, "last_location") in reach else set()
        assert _table_actions(packaged, key, "UserLocationsTable") == needed, key
    assert not _table_actions(packaged, "branchLookupApi", "UserLocationsTable")


def test_a_feature_naming_another_features_table_is_caught(packaged):  # noqa: F811
    """The check above fails on a role that strays into another feature's data."""
    keys = set(packaged.config.functions)
    envs = table_env(packaged)
    applications = next(t for t, env in envs.items() if env == "TABLE_APPLICATIONS")
    assert envs[applications] not in uses("booking", keys).tables
    assert "TABLE_BOOKINGS" in uses("booking", keys).tables


def test_roles_grant_what_the_features_need(packaged):  # noqa: F811
    keys = set(packaged.config.functions)
    envs = table_env(packaged)
    by_feature: dict[str, list[Grant]] = {}
    for key, function in packaged.config.functions.items():
        by_feature.setdefault(function.feature, []).extend(grants(packaged, role_of(packaged, key)[1]))
    for feature, granted in by_feature.items():
        tables = {envs[g.name] for g in granted if g.kind == "table"}
        assert own_tables(feature) <= tables, feature
        needed_functions = uses(feature, keys).functions - {k for k, f in packaged.config.functions.items()
                                                            if f.feature == feature}
        assert needed_functions <= {g.name for g in granted if g.kind == "function"}, feature
    webhook = grants(packaged, role_of(packaged, "webhook")[1])
    intents = {k for k in keys if k.endswith("Intent")}
    assert {g.name for g in webhook if g.kind == "function"} == intents


def test_queue_consumers_and_producers_can_use_the_queue_and_its_key(packaged):  # noqa: F811
    for mapping in packaged.of_type("AWS::Lambda::EventSourceMapping").values():
        function = mapping["Properties"]["FunctionName"]["Fn::GetAtt"][0]
        queue = mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        role = packaged.resources[packaged.resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]]
        actions = set().union(*(g.actions for g in grants(packaged, role) if g.name == queue))
        assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} <= actions, function
    for key in packaged.config.functions:
        _, role = role_of(packaged, key)
        granted = grants(packaged, role)
        for grant in granted:
            if grant.kind == "queue" and "sqs:SendMessage" in grant.actions:
                key_id = packaged.resources[grant.name]["Properties"]["KmsMasterKeyId"]["Ref"]
                assert any(g.kind == "key" and g.name == key_id and "kms:GenerateDataKey" in g.actions
                           for g in granted), f"{key} cannot encrypt for {grant.name}"


def test_the_check_rejects_a_wildcard_or_a_hard_coded_partition(packaged):  # noqa: F811
    bad = [
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"},
        {"Effect": "Allow", "Action": "dynamodb:GetItem",
         "Resource": {"Fn::Sub": "${BookingsTable.Arn}/index/*"}},
        {"Effect": "Allow", "Action": "ssm:GetParameters",
         "Resource": {"Fn::Sub": "arn:aws:ssm:${AWS::Region}:${AWS::AccountId}:parameter/x"}},
    ]
    for statement in bad:
        role = {"Properties": {"Policies": [{"PolicyDocument": {"Statement": [statement]}}]}}
        with pytest.raises((AssertionError, pytest.fail.Exception)):
            grants(packaged, role)


def test_scheduled_functions_are_the_only_ones_the_scheduler_may_invoke(packaged):  # noqa: F811
    role = packaged.resources["SchedulerInvokeRole"]
    [statement] = statements(role)
    invoked = {r["Fn::GetAtt"][0] for r in statement["Resource"]}
    scheduled = {s["Properties"]["Target"]["Arn"]["Fn::GetAtt"][0]
                 for s in packaged.of_type("AWS::Scheduler::Schedule").values()}
    assert invoked == scheduled
    condition = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert condition == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_each_feature_has_its_iam_file_included(packaged):  # noqa: F811
    features = {f.feature for f in packaged.config.functions.values()}
    included = set(re.findall(r"infra/iam/(\w+)\.yml", (ROOT / "serverless.yml").read_text()))
    assert features == included == {p.stem for p in (ROOT / "infra" / "iam").glob("*.yml")}


def test_only_core_banking_answers_wealth_orders(packaged):  # noqa: F811
    """No function's role may put a result on products-order-results (a forged CONFIRMED would
    be a purchase never paid for), nor read the orders meant for core banking; only products'
    API sends them."""
    senders, readers = set(), set()
    for key in packaged.config.functions:
        for grant in grants(packaged, role_of(packaged, key)[1]):
            if grant.name == "ProductsOrderResultsQueue" and "sqs:SendMessage" in grant.actions:
                senders.add(key)
            if grant.name == "ProductsOrdersQueue":
                readers |= {key} if grant.actions - {"sqs:SendMessage"} else set()
                senders |= {f"orders:{key}"}
    assert senders == {"orders:productsApi"} and readers == set()
def _topics(pkg: Package, key: str) -> dict[str, set[str]]:
    return {g.name: set(g.actions) for g in grants(pkg, role_of(pkg, key)[1]) if g.kind == "topic"}


def test_only_notifys_api_publishes_and_only_to_the_customer_events_topic(packaged):  # noqa: F811
    """Cards bound and unbound are announced by notify's API alone; no role may publish to
    any other topic (the SMS grant names no topic: NotResource), nor subscribe or read one."""
    for key in packaged.config.functions:
        expected = {"CustomerEventsTopic": {"sns:Publish"}} if key == "notifyApi" else {}
        assert _topics(packaged, key) == expected, key


def test_products_consumes_only_its_own_queue_and_reads_nothing_of_notify(packaged):  # noqa: F811
    """products learns customers' cards from its own queue of the topic and keeps them in
    its own table: no role of products names notify's tables, core banking's or notify's queue
    for reading; its consumer's queue is its own subscription of the topic."""
    envs = table_env(packaged)
    subscription = packaged.resources["ProductsCustomerEventsSubscription"]["Properties"]
    assert subscription["TopicArn"] == {"Ref": "CustomerEventsTopic"} and subscription["RawMessageDelivery"] is True
    assert subscription["Endpoint"] == {"Fn::GetAtt": ["ProductsCustomerEventsQueue", "Arn"]}
    for key, function in packaged.config.functions.items():
        if function.feature != "products":
            continue
        granted = grants(packaged, role_of(packaged, key)[1])
        assert not {envs[g.name] for g in granted if g.kind == "table"} & {"TABLE_NOTIFY", "TABLE_CORE_BANKING"}, key
        for grant in granted:
            if grant.kind == "queue" and grant.actions & {"sqs:ReceiveMessage", "sqs:DeleteMessage"}:
                assert (key, grant.name) in {("productsCustomerEvents", "ProductsCustomerEventsQueue"),
                                             ("productsOrderResults", "ProductsOrderResultsQueue")}, key
            if grant.kind == "queue" and "sqs:SendMessage" in grant.actions:
                assert grant.name in {"productsApi": {"NotifyEventsQueue", "ProductsOrdersQueue"},
                                      "productsOrderResults": {"NotifyEventsQueue",
                                                               "ProductsOrderResultsDeadLetterQueue"},
                                      }.get(key, {"ProductsCustomerEventsDeadLetterQueue"}), key

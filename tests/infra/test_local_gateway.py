"""The gateway: REST v1 proxy events in, proxy responses out, API Gateway's refusals, and
the Lambda Invoke API as boto3 calls it."""
from __future__ import annotations

import base64
import hashlib
import json

import boto3
import pytest
import requests
from botocore.config import Config

from tests.infra.test_local_fixture_app import fixture_stack


@pytest.fixture(scope="module")
def stack():
    running = fixture_stack()
    yield running
    running.stop()


def test_path_parameters_and_resource_path(stack):
    got = requests.get(f"{stack.url}/items/a%20b", timeout=10).json()
    assert got["resource"] == "/items/{item_id}"
    assert got["uri_params"] == {"item_id": "a b"}
    assert got["path"] == "/items/a b"
    assert got["stage"] == "local"
    assert got["source_ip"] == "127.0.0.1"
    assert got["request_id"]


def test_literal_resource_outranks_a_parameter(stack):
    got = requests.get(f"{stack.url}/items/special", timeout=10).json()
    assert got["special"] is True and got["resource"] == "/items/special"


def test_greedy_proxy_parameter(stack):
    got = requests.get(f"{stack.url}/files/a/b/c.txt", timeout=10).json()
    assert got["resource"] == "/files/{proxy+}"
    assert got["uri_params"] == {"proxy": "a/b/c.txt"}


def test_query_strings_keep_every_value(stack):
    got = requests.get(f"{stack.url}/items/x?tag=a&tag=b&q=%E7%BD%91%E7%82%B9", timeout=10).json()
    assert got["query"] == {"tag": ["a", "b"], "q": ["网点"]}


def test_cookies_reach_the_function(stack):
    got = requests.get(f"{stack.url}/items/x", headers={"Cookie": "wxsession=abc; other=1"}, timeout=10).json()
    assert got["cookie"] == "wxsession=abc; other=1"


def test_several_set_cookie_headers_come_back(stack):
    res = requests.get(f"{stack.url}/cookies", timeout=10)
    assert res.status_code == 201
    assert res.raw.headers.getlist("Set-Cookie") == ["first=1; Path=/; HttpOnly", "second=2; Path=/; SameSite=Lax"]
    assert res.headers["X-Single"] == "one"
    assert res.cookies.get("first") == "1" and res.cookies.get("second") == "2"


def test_binary_bodies_travel_base64_both_ways(stack):
    payload = bytes(range(256)) * 4
    got = requests.post(f"{stack.url}/items/bin", data=payload, headers={"Content-Type": "application/x-fixture"},
                        timeout=10).json()
    assert got["sha256"] == hashlib.sha256(payload).hexdigest()
    res = requests.get(f"{stack.url}/blob", headers={"Accept": "application/x-fixture"}, timeout=10)
    assert res.content == bytes(range(256))


def test_a_token_authorizer_runs_before_the_function_as_api_gateway_runs_it(stack):
    from tests.infra.test_local_fixture_app import CALLS

    def get(path: str, token: str | None = None, method: str = "GET"):
        headers = {"Authorization": token} if token else {}
        return requests.request(method, f"{stack.url}{path}", headers=headers, timeout=10)

    CALLS["gate"].clear()
    missing = get("/guarded/one")
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"}) and CALLS["gate"] == []
    assert get("/guarded/one", "Bearer forged").status_code == 401
    assert get("/guarded/one", "Bearer deny").status_code == 403
    assert get("/guarded/one", "Bearer boom").status_code == 500
    allowed = get("/guarded/one", "Bearer allow")
    assert allowed.status_code == 200
    assert allowed.json()["authorizer"] == {"principalId": "p-1", "who": "tester", "n": "1"}
    assert CALLS["gate"][-1]["type"] == "TOKEN" and CALLS["gate"][-1]["authorizationToken"] == "Bearer allow"
    assert CALLS["gate"][-1]["methodArn"].endswith(":local/local/GET/guarded/one")
    # the answer is cached per token for the TTL, and matched against each method it is used for
    calls = len(CALLS["gate"])
    assert get("/guarded/two", "Bearer allow").status_code == 200 and len(CALLS["gate"]) == calls
    assert get("/guarded/one", "Bearer narrow").status_code == 200
    assert get("/guarded/two", "Bearer narrow").status_code == 403 and len(CALLS["gate"]) == calls + 1
    assert get("/guarded/two", "Bearer narrow", "POST").status_code == 403 and len(CALLS["gate"]) == calls + 1


def test_json_body_arrives_as_text(stack):
    body = json.dumps({"name": "小宁"}, ensure_ascii=False).encode()
    got = requests.post(f"{stack.url}/items/1", data=body, headers={"Content-Type": "application/json"},
                        timeout=10).json()
    assert got["length"] == len(body) and got["method"] == "POST"


@pytest.mark.parametrize("method,path", [("GET", "/nowhere"), ("DELETE", "/items/1"), ("GET", "/items")])
def test_unknown_routes_answer_like_api_gateway(stack, method, path):
    res = requests.request(method, f"{stack.url}{path}", timeout=10)
    assert res.status_code == 403
    assert res.json() == {"message": "Missing Authentication Token"}


def test_bodies_over_ten_megabytes_are_refused(stack):
    res = requests.post(f"{stack.url}/items/1", data=b"x" * (10 * 1024 * 1024 + 1),
                        headers={"Content-Type": "application/json"}, timeout=30)
    assert res.status_code == 413


def _lambda(stack):
    return boto3.client("lambda", endpoint_url=stack.url, region_name="cn-north-1",  # noqa: TID251 - the stack's endpoint
                        config=Config(retries={"max_attempts": 1}))


def test_invoke_round_trip_by_name_and_key(stack):
    client = _lambda(stack)
    for name in ("fixture-local-echo", "echo"):
        res = client.invoke(FunctionName=name, Payload=json.dumps({"hello": "世界"}).encode())
        assert res["StatusCode"] == 200 and "FunctionError" not in res
        assert json.loads(res["Payload"].read()) == {"event": {"hello": "世界"}, "function_name": "fixture-local-echo"}


def test_invoke_reports_function_errors(stack):
    res = _lambda(stack).invoke(FunctionName="fixture-local-fail", Payload=b'{"what": "this"}')
    assert res["FunctionError"] == "Unhandled"
    error = json.loads(res["Payload"].read())
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "cannot handle this"


def test_invoke_of_a_handler_that_does_not_exist(stack):
    res = _lambda(stack).invoke(FunctionName="fixture-local-missing", Payload=b"{}")
    assert res["FunctionError"] == "Unhandled"
    assert json.loads(res["Payload"].read())["errorType"] == "Runtime.HandlerNotFound"


def test_invoke_of_an_unknown_function(stack):
    with pytest.raises(_lambda(stack).exceptions.ResourceNotFoundException):
        _lambda(stack).invoke(FunctionName="fixture-local-nope", Payload=b"{}")


def test_async_invoke_is_accepted(stack):
    res = _lambda(stack).invoke(FunctionName="echo", InvocationType="Event", Payload=b"{}")
    assert res["StatusCode"] == 202


def test_common_invoke_goes_through_the_invoke_api(stack):
    """functions.common.aws.invoke, as the webhook calls an intent, against the stack."""
    from functions.common import aws

    assert aws.invoke("echo", {"n": 1}, 3.0)["event"] == {"n": 1}
    with pytest.raises(RuntimeError, match="cannot handle"):
        aws.invoke("fail", {"what": "x"}, 3.0)


def test_admin_lists_routes_functions_and_health(stack):
    health = requests.get(f"{stack.url}/_local/health", timeout=10).json()
    assert health["status"] == "ok"
    routes = requests.get(f"{stack.url}/_local/routes", timeout=10).json()
    assert {"method": "GET", "path": "/files/{proxy+}", "function": "api"} in routes
    functions = {f["key"]: f for f in requests.get(f"{stack.url}/_local/functions", timeout=10).json()}
    assert functions["consume"]["events"] == ["sqs"]
    assert requests.get(f"{stack.url}/_local/", timeout=10).status_code == 200


def test_weui_is_served_for_the_pages(stack):
    res = requests.get(stack.environment["WEUI_CSS_URL"], timeout=10)
    assert res.status_code == 200 and ".weui-btn" in res.text


def test_fake_wechat_is_mounted(stack):
    res = requests.get(f"{stack.environment['WECHAT_API_BASE']}_admin/outbox", timeout=10)
    assert res.status_code == 200
    assert stack.fake_wechat is not None


def test_the_clock_is_read_and_moved_over_http(stack):
    from functions.common import clock

    try:
        moved = requests.post(f"{stack.url}/_local/clock", json={"at": "2026-11-21T23:30"}, timeout=10)
        assert moved.status_code == 200 and moved.json()["set"] is True
        assert moved.json()["local"].startswith("2026-11-21T23:3")
        assert clock.local().strftime("%Y-%m-%d %H:%M") == "2026-11-21 23:30"  # the functions' clock
        read = requests.get(f"{stack.url}/_local/clock", timeout=10).json()
        assert read["now"] >= "2026-11-21T15:30:00Z" and read["set"] is True
        assert requests.get(f"{stack.url}/_local/env", timeout=10).json()["CLOCK_AT"] >= "2026-11-21T15:30:00Z"
        refused = requests.post(f"{stack.url}/_local/clock", json={"at": "next friday"}, timeout=10)
        assert refused.status_code == 400 and refused.json()["code"] == "invalid_clock"
        assert clock.local().strftime("%Y-%m-%d") == "2026-11-21"  # unchanged
    finally:
        real = requests.post(f"{stack.url}/_local/clock", json={"at": None}, timeout=10).json()
    assert real["set"] is False and "CLOCK_AT" not in requests.get(f"{stack.url}/_local/env", timeout=10).json()


def test_the_clock_is_no_route_outside_the_local_stack():
    """API Gateway serves the routes of serverless.yml; /_local/ is none of them, so a deployed
    stage answers its clock lever as any unknown path."""
    from werkzeug.test import Client

    from infra.local import slsconfig
    from infra.local.gateway import Gateway, routes_from
    from infra.local.lambdas import Lambdas

    for stage in ("dev", "prod"):
        config = slsconfig.load(stage)
        assert not [r for r in routes_from(config) if r.path.startswith("/_local")]
        deployed = Client(Gateway(config, Lambdas(config)))  # no admin: what API Gateway serves
        for method in ("GET", "POST"):
            assert deployed.open("/_local/clock", method=method, json={"at": "2026-11-21T23:30"}).status_code == 403


def test_proxy_event_shape():
    """The event fields Chalice and Powertools read, with base64 for non-text bodies."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from infra.local.gateway import Route, proxy_event

    request = Request(EnvironBuilder(path="/items/7", method="POST", query_string="a=1&a=2",
                                     headers={"Cookie": "x=1"}, data=b"\xff\x00",
                                     content_type="application/octet-stream").get_environ())
    event = proxy_event(request, Route("POST", "/items/{item_id}", "api"), {"item_id": "7"}, "local", [])
    assert event["resource"] == "/items/{item_id}" and event["httpMethod"] == "POST"
    assert event["queryStringParameters"] == {"a": "2"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["pathParameters"] == {"item_id": "7"}
    assert event["headers"]["Cookie"] == "x=1" and event["multiValueHeaders"]["Cookie"] == ["x=1"]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\x00"
    assert event["requestContext"]["resourcePath"] == "/items/{item_id}"
    assert event["requestContext"]["identity"]["sourceIp"]


@pytest.mark.parametrize(("mount", "path", "stage"), [
    ("stage", "/items/7", "dev"),  # execute-api's URL: the stage is not in `path`
    ("base_path", "/dev/items/7", "local"),  # a custom domain: the base path is, the stage is the mapped one
])
def test_proxy_event_under_a_mount(mount, path, stage):
    """Under a stage or a base path the event says so as API Gateway's does; outside it the
    request is refused before any route is looked up."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from infra.local.gateway import Mount, Route, proxy_event

    under = Mount(mount, "dev")
    request = Request(EnvironBuilder(path="/dev/items/7").get_environ())
    event = proxy_event(request, Route("GET", "/items/{item_id}", "api"), {"item_id": "7"}, "local", [], under)
    assert event["path"] == path and event["requestContext"]["stage"] == stage
    assert event["requestContext"]["path"] == "/dev/items/7" and event["resource"] == "/items/{item_id}"
    assert under.api_path("/dev/items/7") == "/items/7" and under.api_path("/dev") == "/"
    assert under.api_path("/items/7") is None and under.api_path("/devx/items") is None
    assert under.refusal().status_code == 403
    with pytest.raises(ValueError):
        Mount("stage", "a/b")

"""Functions the local stack's own tests wire through test_local_serverless.yml: a Chalice app
that shows what the gateway handed it, Lambda handlers that echo or fail, a queue consumer
and a scheduled job. They record what they saw in CALLS (the stack runs in this process)."""
from __future__ import annotations

import base64
import hashlib
import json

from chalice import Chalice, Response

app = Chalice(app_name="local-stack-fixture")
app.api.binary_types.append("application/x-fixture")
CALLS: dict[str, list] = {"consume": [], "consume_all": [], "tick": [], "gate": []}


def _seen() -> dict:
    request = app.current_request
    return {
        "resource": request.context["resourcePath"],
        "path": request.context["path"],
        "method": request.method,
        "uri_params": request.uri_params,
        "query": {k: request.query_params.getlist(k) for k in request.query_params or {}},
        "cookie": request.headers.get("cookie"),
        "source_ip": request.context["identity"]["sourceIp"],
        "stage": request.context["stage"],
        "request_id": request.context["requestId"],
    }


@app.route("/items/{item_id}", methods=["GET"])
def get_item(item_id):
    return _seen()


@app.route("/items/special", methods=["GET"])
def special():
    return {**_seen(), "special": True}


@app.route("/items/{item_id}", methods=["POST"], content_types=["application/json", "application/x-fixture"])
def post_item(item_id):
    raw = app.current_request.raw_body
    return {**_seen(), "sha256": hashlib.sha256(raw).hexdigest(), "length": len(raw)}


@app.route("/files/{proxy+}", methods=["GET"])
def files():
    return _seen()


@app.route("/cookies", methods=["GET"])
def cookies():
    return Response(body="ok", status_code=201, headers={
        "Content-Type": "text/plain",
        "Set-Cookie": ["first=1; Path=/; HttpOnly", "second=2; Path=/; SameSite=Lax"],
        "X-Single": "one",
    })


@app.route("/blob", methods=["GET"])
def blob():
    return Response(body=bytes(range(256)), headers={"Content-Type": "application/x-fixture"})


@app.route("/guarded/{item_id}", methods=["GET", "POST"])
def guarded(item_id):
    return {**_seen(), "authorizer": app.current_request.context.get("authorizer")}


def gate(event, context):
    """A TOKEN authorizer: `Bearer allow` may call every route of the API, `Bearer narrow`
    only GET /guarded/one, `Bearer deny` nothing; `Bearer boom` breaks it; anything else
    is not a token."""
    CALLS["gate"].append(event)
    token = event["authorizationToken"]
    api = event["methodArn"].split("/", 1)[0]
    stage = event["methodArn"].split("/")[1]
    resource = {"Bearer allow": f"{api}/{stage}/*", "Bearer narrow": f"{api}/{stage}/GET/guarded/one",
                "Bearer deny": f"{api}/{stage}/*"}.get(token)
    if token == "Bearer boom":
        raise ValueError("the authorizer broke")
    if resource is None:
        raise Exception("Unauthorized")  # noqa: TRY002 - API Gateway's word for 401
    effect = "Deny" if token == "Bearer deny" else "Allow"
    return {"principalId": "p-1", "context": {"who": "tester", "n": 1},
            "policyDocument": {"Version": "2012-10-17",
                               "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]}}


def echo(event, context):
    return {"event": event, "function_name": context.function_name}


def fail(event, context):
    raise ValueError(f"cannot handle {event.get('what')}")


def consume(event, context):
    """Reports the records whose body says {"ok": false} as failed."""
    failures = []
    for record in event["Records"]:
        CALLS["consume"].append(record)
        if not json.loads(record["body"]).get("ok", True):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def consume_all(event, context):
    """Fails the whole batch when any record says {"ok": false}."""
    CALLS["consume_all"].extend(event["Records"])
    if any(not json.loads(r["body"]).get("ok", True) for r in event["Records"]):
        raise RuntimeError("batch failed")
    return None


def bad_report(event, context):
    """Names a record that was not in the batch."""
    return {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}


def tick(event, context):
    CALLS["tick"].append(event)
    return {"ticks": len(CALLS["tick"])}


def base64_of(data: bytes) -> str:
    return base64.b64encode(data).decode()


FIXTURE_YML = __file__.replace("test_local_fixture_app.py", "test_local_serverless.yml")


def fixture_stack():
    """A started LocalStack on the fixture serverless.yml (no demo data, no clock-driven
    schedules; failed queue messages come back at once, so redrive runs without waiting)."""
    from infra.local import slsconfig
    from infra.local.stack import LocalStack

    for calls in CALLS.values():
        calls.clear()
    return LocalStack(port=0, config=slsconfig.load("local", str(FIXTURE_YML)), demo=False, schedules=False,
                      retry_delay_s=0).start()

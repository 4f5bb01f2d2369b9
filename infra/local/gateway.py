"""API Gateway (REST, Lambda proxy) and the Lambda Invoke API, emulated from serverless.yml.

Each `http` event becomes a resource with its exact path (`/booking/{id}`, `/x/{proxy+}`);
a request becomes a REST v1 proxy event, as Chalice expects it, and the function's proxy
response becomes the HTTP answer. What API Gateway would refuse is refused the same way.

The API is served at the root, or under a prefix (`Mount`) the way AWS serves it: under its
stage on execute-api's URL, or under the base path a custom domain maps to the stage. The
two differ in the event: execute-api's `path` lacks the stage, a custom domain's `path`
keeps the base path; `requestContext.path` has the prefix in both.
"""
from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from werkzeug.datastructures import Headers
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from infra.local.lambdas import FunctionError, Lambdas, UnknownFunction
from infra.local.slsconfig import ServerlessConfig

logger = logging.getLogger("infra.local")

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
INTEGRATION_TIMEOUT_S = 29.0
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml",
              "application/javascript")


@dataclass(frozen=True)
class Mount:
    """Where the API sits below the host's root: `kind` is "stage" (execute-api's URL,
    `/dev/...`) or "base_path" (a custom domain's base path mapping, `/wx/...`)."""

    kind: str
    name: str

    def __post_init__(self) -> None:
        if self.kind not in ("stage", "base_path") or not re.fullmatch(r"[A-Za-z0-9._-]+", self.name):
            raise ValueError(f"a mount is a stage or a base path with a one-segment name: {self}")

    @property
    def prefix(self) -> str:
        return "/" + self.name

    def api_path(self, path: str) -> str | None:
        """The path from the API's root, or None when `path` is not under the mount."""
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            return None
        return path[len(self.prefix):] or "/"

    def refusal(self) -> Response:
        """What AWS answers outside the mount: execute-api knows no such stage, a custom
        domain has no mapping for that path."""
        if self.kind == "stage":
            return api_error(403, "Missing Authentication Token")
        return api_error(403, "Forbidden", headers={"x-amzn-ErrorType": "ForbiddenException"})


@dataclass(frozen=True)
class Authorizer:
    """A Lambda TOKEN authorizer of a route (`authorizer:` on its http event): `function`
    is its key in serverless.yml; its answer is cached per token for `ttl_s`."""

    function: str
    header: str = "Authorization"
    ttl_s: int = 300


@dataclass(frozen=True)
class Route:
    """One API Gateway resource + method, wired to a function."""

    method: str  # GET, POST... or ANY
    path: str  # resource path as in serverless.yml, with a leading slash
    function: str
    authorizer: Authorizer | None = None

    @property
    def segments(self) -> list[str]:
        return [s for s in self.path.split("/") if s]

    def match(self, parts: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
        """(specificity, path parameters) if this resource matches the path's segments.
        A literal segment outranks a {param}, which outranks a greedy {proxy+}."""
        params: dict[str, str] = {}
        score: list[int] = []
        template = self.segments
        for i, seg in enumerate(template):
            if seg.startswith("{") and seg.endswith("+}"):
                if i >= len(parts) or i != len(template) - 1:
                    return None
                params[seg[1:-2]] = "/".join(parts[i:])
                score.append(0)
                return tuple(score), params
            if i >= len(parts):
                return None
            if seg.startswith("{") and seg.endswith("}"):
                params[seg[1:-1]] = parts[i]
                score.append(1)
            elif seg == parts[i]:
                score.append(2)
            else:
                return None
        if len(parts) != len(template):
            return None
        return tuple(score), params


def http_events(spec: Any) -> tuple[str, str]:
    """(METHOD, /path) of an `http` event in either of serverless.yml's forms."""
    if isinstance(spec, str):
        method, path = spec.split(None, 1)
    else:
        method, path = spec["method"], spec["path"]
    return method.upper(), "/" + str(path).strip().lstrip("/")


def routes_from(config: ServerlessConfig) -> list[Route]:
    out = []
    for key, function in config.functions.items():
        for event in function.events:
            if isinstance(event, dict) and "http" in event:
                method, path = http_events(event["http"])
                out.append(Route(method, path.rstrip("/") or "/", key, authorizer_of(event["http"])))
    return out


def authorizer_of(spec: Any) -> Authorizer | None:
    """The Lambda TOKEN authorizer of an `http` event, if it has one (by function name)."""
    found = spec.get("authorizer") if isinstance(spec, dict) else None
    if not found:
        return None
    if isinstance(found, str):
        found = {"name": found}
    if found.get("type", "token").lower() != "token":
        raise ValueError(f"the local gateway runs TOKEN authorizers only, not {found}")
    source = str(found.get("identitySource", "method.request.header.Authorization"))
    return Authorizer(function=found["name"], header=source.rsplit(".", 1)[1],
                      ttl_s=int(found.get("resultTtlInSeconds", 300)))


class Authorizers:
    """Runs a route's TOKEN authorizer as API Gateway does: no token, 401 without calling
    it; "Unauthorized" raised, 401; a Deny (or a policy not covering the method), 403; any
    other failure, 500; an Allow puts its principal and context in the event. Answers are
    cached per authorizer and token for its TTL, and the cached policy is matched against
    each later method, as API Gateway matches it."""

    def __init__(self, responses: dict[str, tuple[int, str]] | None = None) -> None:
        self._cache: dict[tuple[str, str], tuple[float, dict]] = {}
        self._lock = threading.Lock()
        self.responses = responses or {}

    def refusal(self, kind: str, status: int, message: str, error_type: str) -> Response:
        """API Gateway's own answer, or the template's gateway response for `kind`."""
        status, body = self.responses.get(kind, (status, json.dumps({"message": message})))
        return Response(body, status=status, headers={"Content-Type": "application/json",
                                                      "x-amzn-ErrorType": error_type})

    def check(self, lambdas: Lambdas, authorizer: Authorizer, request: Request, method_arn: str) -> Response | dict:
        """API Gateway's refusal, or the event's `requestContext.authorizer`."""
        token = request.headers.get(authorizer.header)
        if not token:
            return self.refusal("UNAUTHORIZED", 401, "Unauthorized", "UnauthorizedException")
        key = (authorizer.function, token)
        with self._lock:
            held = self._cache.get(key)
        if held is None or held[0] <= time.monotonic():
            event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
            try:
                answer = lambdas.call(authorizer.function, event)
            except FunctionError as error:
                if str(error) == "Unauthorized":
                    return self.refusal("UNAUTHORIZED", 401, "Unauthorized", "UnauthorizedException")
                return api_error(500, "", headers={"x-amzn-ErrorType": "AuthorizerConfigurationException"})
            if not isinstance(answer, dict) or "policyDocument" not in answer:
                return api_error(500, "", headers={"x-amzn-ErrorType": "AuthorizerConfigurationException"})
            held = (time.monotonic() + authorizer.ttl_s, answer)
            if authorizer.ttl_s:
                with self._lock:
                    self._cache[key] = held
        answer = held[1]
        if not _allows(answer["policyDocument"], method_arn):
            return self.refusal("ACCESS_DENIED", 403, "User is not authorized to access this resource",
                                "AccessDeniedException")
        context = {k: str(v) for k, v in (answer.get("context") or {}).items()}
        return {"principalId": answer.get("principalId"), **context}


def gateway_responses(config: ServerlessConfig) -> dict[str, tuple[int, str]]:
    """{ResponseType: (status, JSON body)} of the template's AWS::ApiGateway::GatewayResponse."""
    out = {}
    for spec in config.resources_of_type("AWS::ApiGateway::GatewayResponse").values():
        props = spec["Properties"]
        body = (props.get("ResponseTemplates") or {}).get("application/json")
        if body:
            out[props["ResponseType"]] = (int(props.get("StatusCode") or 0), body)
    return out


def _allows(policy: dict, arn: str) -> bool:
    """Whether an IAM policy allows execute-api:Invoke on `arn` (an explicit Deny wins)."""
    def listed(value: Any) -> list[str]:
        return [value] if isinstance(value, str) else list(value or [])

    def matches(statement: dict) -> bool:
        return any(fnmatch.fnmatchcase(arn, r) for r in listed(statement.get("Resource"))) \
            and any(fnmatch.fnmatchcase("execute-api:Invoke", a) for a in listed(statement.get("Action")))

    statements = policy.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    if any(s.get("Effect") == "Deny" and matches(s) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and matches(s) for s in statements)


def method_arn(region: str, stage: str, method: str, path: str) -> str:
    """The execute-api ARN of a call, as API Gateway gives it to an authorizer."""
    return f"arn:aws:execute-api:{region}:000000000000:local/{stage}/{method}{path}"


def binary_media_types(config: ServerlessConfig) -> list[str]:
    api = (config.raw["provider"].get("apiGateway") or {})
    return list(api.get("binaryMediaTypes") or [])


class Router:
    def __init__(self, routes: list[Route]):
        self.routes = routes

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The best resource for the path that has this method (or ANY)."""
        parts = [s for s in path.split("/") if s]
        best: tuple[tuple[int, ...], Route, dict[str, str]] | None = None
        for route in self.routes:
            if route.method not in (method, "ANY"):
                continue
            found = route.match(parts)
            if found and (best is None or found[0] > best[0]
                          or (found[0] == best[0] and best[1].method == "ANY")):
                best = (found[0], route, found[1])
        return (best[1], best[2]) if best else None


def proxy_event(request: Request, route: Route, params: dict[str, str], stage: str,
                binary_types: list[str], mount: Mount | None = None) -> dict[str, Any]:
    """A REST v1 Lambda proxy event for the request, as API Gateway builds it (under
    `mount`, with its stage's or base path's `path`)."""
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        multi_headers.setdefault(name, []).append(value)
        headers[name] = value
    source_ip = request.remote_addr or "127.0.0.1"
    for name, value in (("X-Forwarded-For", source_ip), ("X-Forwarded-Proto", request.scheme),
                        ("X-Forwarded-Port", str(request.host.rpartition(":")[2] or "80"))):
        headers.setdefault(name, value)
        multi_headers.setdefault(name, [value])
    query = request.args
    raw = request.get_data(cache=False)
    body: str | None = None
    is_b64 = False
    if raw:
        ctype = (request.mimetype or "").lower()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or any(fnmatch.fnmatch(ctype, t) for t in binary_types):
            body, is_b64 = base64.b64encode(raw).decode("ascii"), True
        else:
            body = text
    request_id = str(uuid.uuid4())
    path = request.path
    if mount is not None and mount.kind == "stage":
        path, stage = mount.api_path(request.path) or "/", mount.name
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: query.getlist(k)[-1] for k in query} or None,
        "multiValueQueryStringParameters": {k: query.getlist(k) for k in query} or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": uuid.uuid5(uuid.NAMESPACE_URL, route.path).hex[:6],
            "resourcePath": route.path,
            "httpMethod": request.method,
            "path": request.path,
            "stage": stage,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": request.host,
            "identity": {"sourceIp": source_ip, "userAgent": request.user_agent.string or None},
        },
        "body": body,
        "isBase64Encoded": is_b64,
    }


def proxy_response(result: Any) -> Response:
    """The HTTP answer for a Lambda proxy response; a malformed one is API Gateway's 502."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode", 200), int):
        return api_error(502, "Internal server error")
    headers = Headers()
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    multi_lower = {k.lower() for k in multi}
    for name, values in multi.items():
        for value in values if isinstance(values, list) else [values]:
            headers.add(name, str(value))
    for name, value in single.items():
        if name.lower() not in multi_lower:
            headers.add(name, str(value))
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return api_error(502, "Internal server error")
    else:
        data = str(body).encode("utf-8")
    if "Content-Type" not in headers:
        headers["Content-Type"] = "application/json"
    return Response(data, status=result.get("statusCode", 200), headers=headers)


def api_error(status: int, message: str, headers: dict | None = None) -> Response:
    return Response(json.dumps({"message": message}), status=status,
                    headers={"Content-Type": "application/json", "x-amzn-ErrorType": _error_type(status),
                             **(headers or {})})


def _error_type(status: int) -> str:
    return {403: "MissingAuthenticationTokenException", 413: "RequestTooLongException",
            502: "InternalServerErrorException", 504: "IntegrationTimeoutException"}.get(status, "Exception")


class Gateway:
    """The WSGI app: Lambda Invoke API, then the admin routes (`admin`), then API Gateway."""

    def __init__(self, config: ServerlessConfig, lambdas: Lambdas,
                 admin: Callable[[Request], Response | None] | None = None, mount: Mount | None = None):
        self.config = config
        self.mount = mount
        self.lambdas = lambdas
        self.routes = routes_from(config)
        self.router = Router(self.routes)
        self.binary_types = binary_media_types(config)
        self.admin = admin
        self.authorizers = Authorizers(gateway_responses(config))

    def __call__(self, environ, start_response):
        request = Request(environ)
        started = time.perf_counter()
        response = self.dispatch(request)
        logger.info("%s %s → %s (%.0f ms)", request.method, request.full_path.rstrip("?"), response.status_code,
                    1000 * (time.perf_counter() - started))
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return api_error(413, f"HTTP content length exceeded {MAX_BODY_BYTES} bytes.")
        invoke = INVOKE_PATH.match(request.path)
        if invoke and request.method == "POST":
            return self.invoke(request, unquote(invoke.group("name")))
        if self.admin and request.path.startswith("/_local"):
            answer = self.admin(request)
            if answer is not None:
                return answer
        path = request.path
        if self.mount is not None:
            path = self.mount.api_path(request.path)
            if path is None:
                return self.mount.refusal()
        found = self.router.resolve(request.method, path.rstrip("/") or "/")
        if found is None:
            return api_error(403, "Missing Authentication Token")
        route, params = found
        event = proxy_event(request, route, params, self.config.stage, self.binary_types, self.mount)
        if route.authorizer is not None:
            region = str(self.config.raw["provider"].get("region") or "cn-north-1")
            allowed = self.authorizers.check(self.lambdas, route.authorizer, request,
                                             method_arn(region, event["requestContext"]["stage"], request.method, path))
            if isinstance(allowed, Response):
                return allowed
            event["requestContext"]["authorizer"] = allowed
        timeout = min(float(self.config.functions[route.function].timeout), INTEGRATION_TIMEOUT_S)
        try:
            result = self.lambdas.call(route.function, event, timeout)
        except FunctionError:
            return api_error(502, "Internal server error")
        return proxy_response(result)

    def invoke(self, request: Request, name: str) -> Response:
        """POST /2015-03-31/functions/{name}/invocations, as boto3's lambda client calls it."""
        try:
            key = self.lambdas.key(name)
        except UnknownFunction:
            return _lambda_error(404, "ResourceNotFoundException", f"Function not found: {name}")
        kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        raw = request.get_data(cache=False) or b"{}"
        try:
            event = json.loads(raw)
        except ValueError:
            return _lambda_error(400, "InvalidRequestContentException", "Could not parse request body into json")
        if kind == "DryRun":
            return Response(b"", status=204)
        if kind == "Event":
            self.lambdas.call_async(key, event)
            return Response(b"", status=202)
        headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST"}
        try:
            result = self.lambdas.call(key, event)
        except FunctionError as error:
            return Response(json.dumps(error.payload), status=200,
                            headers={**headers, "X-Amz-Function-Error": "Unhandled"})
        return Response(json.dumps(result), status=200, headers=headers)


def _lambda_error(status: int, kind: str, message: str) -> Response:
    return Response(json.dumps({"Type": "User", "message": message}), status=status,
                    headers={"Content-Type": "application/json", "x-amzn-ErrorType": kind})


class QuietHandler(WSGIRequestHandler):
    """The gateway logs requests itself (with the function's timing)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class InvokeEndpoint:
    """The functions behind the Lambda Invoke API (and API Gateway) on 127.0.0.1, served
    from a background thread: what the tests and benchmarks point AWS_ENDPOINT_URL_LAMBDA
    at, as the local stack does. `gateway.lambdas` may be replaced between calls."""

    def __init__(self, lambdas: Lambdas, port: int = 0):
        from werkzeug.serving import make_server

        self.gateway = Gateway(lambdas.config, lambdas)
        self._server = make_server("127.0.0.1", port, self.gateway, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="lambda-api",
                         daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

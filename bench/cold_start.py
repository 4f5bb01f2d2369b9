"""Cold starts measured honestly: a fresh process, from its first import to its first reply,
divided by `import boto3` in a fresh process in the same run.

AWS is moto's server in a process of its own (every table serverless.yml defines, with the
demo data); the Lambda Invoke API is served in this process (infra.local.gateway): for the
webhook it answers with a feature's reply at once, so the figure is the webhook's own; for the
features it runs the real handlers, warm (booking asks branch lookup for nearby branches). The
measured process imports the handler module the function's serverless.yml entry names and
calls it as Lambda would in an AWS stage: its own environment from serverless.yml (provider's
and the function's, e.g. PII_CONTEXT_FEATURE and SECRETS), logging at INFO, and its secrets
from their SSM parameters (in moto), not from the environment:

- the webhook's first reply to "我的预约" (the claim, and in plain mode its nonce record, in
  one DynamoDB write; the Invoke; the stored reply), plain (a compatible account) and safe;
- each feature's first answer to an intent, and its first page;
- for reference, botocore with the two clients the webhook needs and nothing else: the floor of
  any function that writes to DynamoDB and invokes another.

Fifteen rounds, every subject once a round in the same order (load changes hit them alike),
after one untimed run each that compiles bytecode; before each run the processes playing AWS
collect their garbage (moto's collector, walking the demo data, would otherwise pause 100 ms
or more in the middle of whichever function's run came next). The figure is the median.
Each figure comes twice: in wall time (the goal's) and in the CPU time of the measured
process, which leaves out the waits for a core and for AWS: on a machine shared with other
work the wall ratios move by a few tenths from run to run, the CPU ratios by a few hundredths.
"""
from __future__ import annotations

import gc
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NAME = "cold_start"
ROOT = Path(__file__).resolve().parents[1]
GOAL = 1.5
OPENID = "o_bench_cold"
REPLY = {"v": 2, "type": "text", "text": "您目前没有预约。"}

# Runs in the measured process: read the event, start the clock, import, answer, report.
MEASURE = """
import json, sys, time
module, attribute, event = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
class Context:
    function_name = "cold"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:cn-north-1:000000000000:function:cold"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    def get_remaining_time_in_millis(self):
        return 5000
started, cpu = time.perf_counter(), time.process_time()
import importlib
handler = getattr(importlib.import_module(module), attribute)
answer = handler(event, Context())
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "answer": answer}, ensure_ascii=False))
"""
BASELINE = ("import time; started, cpu = time.perf_counter(), time.process_time(); import boto3; "
            "print(time.perf_counter() - started, time.process_time() - cpu)")
# What any function that writes to DynamoDB and invokes a Lambda function pays before its own
# work: botocore and the two clients, as functions.common.aws makes them.
FLOOR = """
import time
started = time.perf_counter()
from functions.common import aws
aws.client("dynamodb")
aws.client("lambda", read_timeout=3.25, max_attempts=1, connect_timeout=aws.INVOKE_CONNECT_S)
print(time.perf_counter() - started)
"""


@dataclass
class Subject:
    label: str
    module: str
    attribute: str
    event: Any  # a callable making a fresh event, or the event
    env: dict[str, str]  # the function's environment
    expect: str  # what the answer must hold, so a refusal is not timed as a reply

    def run(self, env: dict[str, str]) -> tuple[float, float]:
        """Wall and CPU seconds to the first reply."""
        event = self.event() if callable(self.event) else self.event
        argv = [sys.executable, "-c", MEASURE, self.module, self.attribute, json.dumps(event)]
        out = subprocess.run(argv, cwd=ROOT, env={**env, **self.env}, capture_output=True, text=True,  # noqa: S603
                             check=True, timeout=120)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        answer = json.dumps(result["answer"], ensure_ascii=False)
        if self.expect not in answer:
            raise RuntimeError(f"{self.label}: unexpected answer {answer[:300]}")
        return float(result["seconds"]), float(result["cpu"])


def _seconds(code: str, env: dict[str, str]) -> list[float]:
    """The figures the code printed on its last line (seconds)."""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,  # noqa: S603
                         check=True, timeout=120)
    return [float(x) for x in out.stdout.strip().splitlines()[-1].split()]


def _webhook_event(mode: str) -> dict:
    """A fresh "我的预约" from a fresh sender, as WeChat POSTs it in `mode`, as API Gateway
    hands it to the function."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from infra.local.gateway import Route, proxy_event
    from tests.webhook import wechat_side as wx

    path, body = wx.request(wx.msg("text", "o_" + secrets.token_hex(8), Content="我的预约"), mode)
    builder = EnvironBuilder(path=path, method="POST", data=body, headers={"Content-Type": "text/xml"})
    return proxy_event(Request(builder.get_environ()), Route("POST", "/wechat", "webhook"), {}, "local", [])


def _page_event(path: str, cookie: str) -> dict:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from infra.local.gateway import Router, proxy_event, routes_from
    from infra.local.slsconfig import load

    request = Request(EnvironBuilder(path=path, headers={"Cookie": cookie}).get_environ())
    route, params = Router(routes_from(load("local"))).resolve("GET", path)  # type: ignore[misc]
    return proxy_event(request, route, params, "local", [])


def _intent(name: str, **fields: str) -> dict:
    from functions.common.intents import Intent

    return Intent(kind="ask", openid=OPENID, name=name, **fields).to_dict()


@dataclass
class Bench:
    env: dict[str, str]  # what any measured process sees: the process's own and AWS's endpoints
    environments: dict[str, dict[str, str]]  # each function's own, by serverless.yml key
    handlers: dict[str, str]  # serverless.yml key by handler ("functions/webhook/entry.handler")
    cookie: str
    moto: Any  # moto's server, in a process of its own
    functions: Any  # the Lambda Invoke API here, running the features' handlers
    answering: Any  # the Lambda Invoke API here, answering the webhook at once

    def stop(self) -> None:
        for service in (self.functions, self.answering, self.moto):
            service.stop()

    def settle(self) -> None:
        """Collect the garbage of the processes that play AWS before a measurement, so that
        their collectors' pauses (100 ms and more in moto's server, full of the demo data)
        fall between measurements instead of into one function's figure."""
        gc.collect()
        self.moto.collect()

    def environment(self, module: str, attribute: str) -> dict[str, str]:
        """The environment of the function whose handler is `module.attribute`."""
        return dict(self.environments[self.handlers[f"{module.replace('.', '/')}.{attribute}"]])


def subjects(bench: Bench) -> list[Subject]:
    from functions.common import intents

    pages = {"branch_lookup": "/branches/view/HS01", "booking": "/booking", "loan_apply": "/loans/apply",
             "notify": "/notify/bind", "products": "/products"}
    asks = {"branch_lookup": _intent(intents.BRANCH_SEARCH, query="鄞州"), "booking": _intent(intents.BOOKING_BOOK),
            "loan_apply": _intent(intents.LOAN_MINE), "notify": _intent(intents.BILLS_SHOW),
            "products": _intent(intents.WEALTH_CATALOGUE)}
    expected = {"branch_lookup": "鄞州", "booking": "/booking", "loan_apply": "/loans/apply",
                "notify": "/notify/bind", "products": "共"}
    webhook = bench.environment("functions.webhook.entry", "handler")
    out = [Subject(f"webhook, {mode} mode (\"我的预约\")", "functions.webhook.entry", "handler",
                   lambda mode=mode: _webhook_event(mode), {**webhook, "WECHAT_MESSAGE_MODE": account}, "200")
           for mode, account in (("plain", "compatible"), ("safe", "safe"))]
    for feature in pages:
        module = f"functions.{feature}.replies"
        out.append(Subject(f"{feature}, intent {asks[feature]['name']}", module, "intent",
                           asks[feature], bench.environment(module, "intent"), expected[feature]))
    for feature, path in pages.items():
        module = f"functions.{feature}.app"
        out.append(Subject(f"{feature}, page {path}", module, "app",
                           _page_event(path, bench.cookie), bench.environment(module, "app"), '"statusCode": 200'))
    return out


def _stack() -> Bench:
    """moto's server (another process) with every table, the secrets' parameters and the demo
    data, and the Lambda Invoke API here (one answering at once for the webhook, one running
    the handlers); a session cookie for the pages."""
    from bench.notify import Service, serve_aws
    from functions.common import aws, config, session
    from infra.local import resources, slsconfig
    from infra.local.gateway import InvokeEndpoint
    from infra.local.lambdas import Lambdas

    class Answering(Lambdas):
        def call(self, key, event, timeout_s=None):
            return REPLY

    stack = slsconfig.load("local")
    moto = Service(serve_aws)
    outside = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONDONTWRITEBYTECODE", "AWS_PROFILE", *config.SECRET_NAMES)
               and not k.startswith("AWS_ENDPOINT_URL")}
    aws_env = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "cn-north-1",
               "AWS_DEFAULT_REGION": "cn-north-1", "AWS_ENDPOINT_URL": moto.url}
    os.environ.clear()
    os.environ.update({**outside, **aws_env})
    refs = resources.create_all(stack)
    os.environ.update(resources.local_environment(stack, refs))
    resources.put_secrets(dict(os.environ))
    os.environ["LOG_LEVEL"] = "WARNING"  # the demo data loads quietly
    functions, answering = InvokeEndpoint(Lambdas(stack)), InvokeEndpoint(Answering(stack))
    os.environ["AWS_ENDPOINT_URL_LAMBDA"] = functions.url
    config.reset()
    aws.reset()
    from infra.local.demo import booking, branch_lookup, loan_apply, notify, products

    for demo in (branch_lookup, booking, loan_apply, notify, products):
        demo.load()
    cookie = f"{session.COOKIE}={session.start(OPENID).cookie_value}"
    env = {**outside, **aws_env, "PYTHONPATH": str(ROOT), "AWS_ENDPOINT_URL_LAMBDA": functions.url}
    # as a deployed stage runs: an AWS stage (secrets from SSM), logging at the deployed level
    deployed = {"STAGE": "bench", "LOG_LEVEL": "INFO"}
    environments = {key: {**resources.function_environment(stack, refs, key), **deployed} for key in stack.functions}
    handlers = {function.handler: key for key, function in stack.functions.items()}
    return Bench(env, environments, handlers, cookie, moto, functions, answering)


def run(quick: bool = False) -> list[dict]:
    saved = dict(os.environ)
    bench = None
    try:
        bench = _stack()
        env = bench.env
        cases = subjects(bench)
        for case in cases:
            if case.module == "functions.webhook.entry":
                case.env["AWS_ENDPOINT_URL_LAMBDA"] = bench.answering.url
        rounds = 5 if quick else 15
        _seconds(BASELINE, env)
        _seconds(FLOOR, env)
        for case in cases:  # compile bytecode, outside the measurement
            case.run(env)
        baseline: list[list[float]] = []
        floor: list[float] = []
        timings: dict[str, list[tuple[float, float]]] = {case.label: [] for case in cases}
        for _ in range(rounds):
            baseline.append(_seconds(BASELINE, env))
            floor.extend(_seconds(FLOOR, env))
            for case in cases:
                bench.settle()
                timings[case.label].append(case.run(env))
        boto3_s = statistics.median(wall for wall, _ in baseline)
        boto3_cpu = statistics.median(cpu for _, cpu in baseline)
        rows = [_row(f"first reply, `import boto3` (baseline, median of {rounds})", boto3_s * 1000, "ms"),
                _row("first reply, `import boto3`, CPU", boto3_cpu * 1000, "ms"),
                _row("first reply, botocore with a DynamoDB and a Lambda client, no work / boto3",
                     statistics.median(floor) / boto3_s, "×")]
        for case in cases:
            ratio = statistics.median(wall for wall, _ in timings[case.label]) / boto3_s
            cpu = statistics.median(cpu for _, cpu in timings[case.label]) / boto3_cpu
            rows.append(_row(f"first reply, {case.label} / boto3", ratio, "×", f"≤ {GOAL}", ratio <= GOAL))
            rows.append(_row(f"first reply CPU, {case.label} / boto3's", cpu, "×"))
        return rows
    finally:
        if bench is not None:
            bench.stop()
        os.environ.clear()
        os.environ.update(saved)
        from functions.common import aws, config

        config.reset()
        aws.reset()


def _row(metric: str, value: float, unit: str, goal: str | None = None, ok: bool | None = None) -> dict:
    return {"benchmark": NAME, "metric": metric, "value": round(value, 3), "unit": unit, "goal": goal, "ok": ok}


if __name__ == "__main__":
    started = time.time()
    for row in run(quick="--quick" in sys.argv):
        print(f"{row['metric']}: {row['value']} {row['unit']}" + (f"  (goal {row['goal']})" if row["goal"] else ""))
    print(f"({time.time() - started:.0f} s)")

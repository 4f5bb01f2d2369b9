"""webhook: CPU per message against bare wechatpy, AWS calls per message, cold imports.

- CPU: the webhook's whole path for a message (verify, decrypt, parse, de-duplicate,
  route, intent round trip, render, encrypt) with AWS I/O stubbed (an in-memory
  de-duplication store and an in-process invoker), divided by bare wechatpy doing
  verify+decrypt+parse+reply+encrypt on the same messages in the same run. Both sides get
  the same safe-mode requests and answer each with the same text, so both verify two
  signatures, parse two XML documents and run AES twice per message; the webhook also pays
  for its own checks (timestamp window, size limit, DOCTYPE/ENTITY), de-duplication and
  routing. The intent deadline is kept by the Lambda client's timeouts (stubbed here, as
  the rest of AWS I/O). CPU time counts every thread of the process.
- AWS calls per message, first delivery and a retry, counted with a botocore event hook:
  DynamoDB in moto, the Lambda Invoke API stubbed with botocore's Stubber.
- Cold import of every handler module in serverless.yml, each in a fresh interpreter,
  divided by `import boto3` measured the same way in the same run.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

NAME = "webhook"
ROOT = Path(__file__).resolve().parents[1]
REPLY = {"v": 1, "type": "text", "text": "您好，离您最近的网点是甬城银行天一支行，步行约5分钟。"}


def _environment() -> dict[str, str]:
    """The local stage's environment, as the tests set it up (before importing functions)."""
    from infra.local import resources, slsconfig

    config = slsconfig.load("local")
    pending = {k: {"Ref": f"pending-{k}", "Arn": f"pending-{k}"} for k in config.resources}
    env = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "cn-north-1",
           "AWS_REGION": "cn-north-1"}
    env.update(resources.local_environment(config, pending))
    return env


def _messages(count: int) -> list[str]:
    kinds = [
        ("text", {"Content": "天一广场附近网点"}),
        ("location", {"Location_X": "29.8683", "Location_Y": "121.544", "Scale": "15", "Label": "宁波"}),
        ("text", {"Content": "我的预约"}),
        ("event", {"Event": "CLICK", "EventKey": "BILLS"}),
    ]
    out = []
    base = int(time.time())
    for i in range(count):
        msg_type, fields = kinds[i % len(kinds)]
        body = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
        msg_id = f"<MsgId>{10**12 + i}</MsgId>" if msg_type != "event" else ""
        out.append(f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[o_bench_{i}]]>"
                   f"</FromUserName><CreateTime>{base + i}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
                   f"{body}{msg_id}</xml>")
    return out


def _sealed(messages: list[str]) -> list[tuple[dict, bytes]]:
    """Each message as WeChat POSTs it in safe mode: (query parameters, body)."""
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.utils import WeChatSigner

    token, key = os.environ["WECHAT_TOKEN"], os.environ["WECHAT_ENCODING_AES_KEY"]
    crypto = WeChatCrypto(token, key, os.environ["WECHAT_APP_ID"])
    out = []
    for i, xml in enumerate(messages):
        ts, nonce = str(int(time.time())), f"n{i}"
        envelope = crypto.encrypt_message(xml, nonce, ts)
        encrypt = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
        msg_signature = envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
        signer = WeChatSigner()
        signer.add_data(token, ts, nonce)
        params = {"signature": signer.signature, "timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
                  "msg_signature": msg_signature}
        out.append((params, f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{encrypt}]]>"
                            f"</Encrypt></xml>".encode()))
    return out


def _bare_wechatpy(requests: list[tuple[dict, bytes]]) -> None:
    """What any WeChat endpoint must do at least, written directly against wechatpy."""
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.parser import parse_message
    from wechatpy.replies import TextReply
    from wechatpy.utils import check_signature

    token = os.environ["WECHAT_TOKEN"]
    crypto = WeChatCrypto(token, os.environ["WECHAT_ENCODING_AES_KEY"], os.environ["WECHAT_APP_ID"])
    for params, body in requests:
        check_signature(token, params["signature"], params["timestamp"], params["nonce"])
        xml = crypto.decrypt_message(body, params["msg_signature"], params["timestamp"], params["nonce"])
        message = parse_message(xml)
        reply = TextReply(message=message, content=REPLY["text"]).render()
        crypto.encrypt_message(reply, params["nonce"], params["timestamp"])


class MemoryStore:
    """De-duplication without AWS I/O, for the CPU measurement only."""

    def __init__(self) -> None:
        self.items: dict[str, dict] = {}

    def claim(self, key: str, lease_s: float):
        from functions.webhook.dedup import Claim

        if key in self.items:
            return self.peek(key)
        self.items[key] = {}
        return Claim("new")

    def peek(self, key: str):
        from functions.webhook.dedup import Claim

        reply = self.items.get(key)
        return Claim("done", reply) if reply else Claim("busy")

    def finish(self, key: str, reply: dict) -> None:
        self.items[key] = reply


def _webhook(requests: list[tuple[dict, bytes]]) -> None:
    from functions.webhook import dispatch

    dispatch.use_store(MemoryStore())
    for params, body in requests:
        dispatch.receive(params, body)


def _cpu_per_message(fn, requests, rounds: int) -> float:
    """Median CPU seconds per message (every thread of the process counts)."""
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        fn(requests)
        samples.append((time.process_time() - start) / len(requests))
    return statistics.median(samples)


def cpu_rows(quick: bool) -> list[dict]:
    from functions.common import aws

    requests = _sealed(_messages(40 if quick else 200))
    aws.set_invoker(lambda key, payload, timeout: REPLY, keeps_time=True)
    try:
        _webhook(requests[:8])  # warm both paths: imports and caches
        _bare_wechatpy(requests[:8])
        rounds = 3 if quick else 9
        ours, bare = [], []
        for _ in range(rounds):  # interleaved, so drift hits both alike
            ours.append(_cpu_per_message(_webhook, requests, 1))
            bare.append(_cpu_per_message(_bare_wechatpy, requests, 1))
    finally:
        aws.set_invoker(None)
        from functions.webhook import dispatch

        dispatch.use_store(None)
    ours_s, bare_s = statistics.median(ours), statistics.median(bare)
    ratio = ours_s / bare_s
    return [
        _row("CPU per message, webhook (AWS stubbed)", ours_s * 1e6, "µs"),
        _row("CPU per message, bare wechatpy", bare_s * 1e6, "µs"),
        _row("CPU per message, webhook / bare wechatpy", ratio, "×", "≤ 1.5", ratio <= 1.5),
    ]


@contextmanager
def _counting_aws_calls():
    """Count every botocore API call made by clients created inside the block."""
    from botocore import handlers

    calls: Counter = Counter()

    def count(model, **_):
        calls[f"{model.service_model.service_name}:{model.name}"] += 1

    handlers.BUILTIN_HANDLERS.append(("before-call.*.*", count))
    try:
        yield calls
    finally:
        handlers.BUILTIN_HANDLERS.remove(("before-call.*.*", count))


def aws_call_rows() -> list[dict]:
    import io

    from botocore.response import StreamingBody
    from botocore.stub import ANY, Stubber
    from moto import mock_aws

    from functions.common import aws, config
    from functions.webhook import dispatch
    from infra.local import resources, slsconfig

    stack = slsconfig.load("local")
    with _counting_aws_calls() as calls, mock_aws():
        aws.reset()
        refs = resources.create_all(stack)
        os.environ.update(resources.local_environment(stack, refs))
        config.reset()
        requests = _sealed(_messages(4))
        lam = aws.client("lambda", read_timeout=config.settings().intent_deadline_s)
        payload = json.dumps(REPLY).encode()
        with Stubber(lam) as stub:
            for _ in requests:
                stub.add_response("invoke", {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(payload),
                                                                                          len(payload))},
                                  {"FunctionName": ANY, "InvocationType": "RequestResponse", "Payload": ANY})
            aws.set_invoker(None)
            dispatch.use_store(None)
            calls.clear()
            for params, body in requests:
                dispatch.receive(params, body)
            first = dict(calls)
            calls.clear()
            for params, body in requests:
                dispatch.receive(params, body)
            retry = dict(calls)
        aws.reset()
    n = len(requests)
    rows = []
    for label, counted in (("first delivery", first), ("retry", retry)):
        total = sum(counted.values()) / n
        detail = ", ".join(f"{k} {v / n:g}" for k, v in sorted(counted.items()))
        rows.append(_row(f"AWS calls per message, {label} ({detail})", total, "calls"))
    return rows


def _import_seconds(module: str, env: dict[str, str]) -> float:
    code = (f"import time; t = time.perf_counter(); import importlib; importlib.import_module({module!r}); "
            "print(time.perf_counter() - t)")
    argv = [sys.executable, "-c", code]  # our own interpreter and a module name from serverless.yml
    out = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120)  # noqa: S603
    return float(out.stdout.strip().splitlines()[-1])


def import_rows(quick: bool) -> list[dict]:
    from infra.local import slsconfig

    env = {**os.environ, **_environment(), "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    modules = sorted({f.module for f in slsconfig.load("local").functions.values()})
    repeats = 3 if quick else 7
    for module in ["boto3", *modules]:  # compile bytecode once, outside the measurement
        _import_seconds(module, env)
    timings: dict[str, list[float]] = {m: [] for m in ["boto3", *modules]}
    for _ in range(repeats):  # interleaved, so load changes hit every module alike
        for module in timings:
            timings[module].append(_import_seconds(module, env))
    baseline = statistics.median(timings["boto3"])
    rows = [_row("cold import, `import boto3` (baseline)", baseline * 1000, "ms")]
    for module in modules:
        ratio = statistics.median(timings[module]) / baseline
        rows.append(_row(f"cold import, {module} / boto3", ratio, "×", "≤ 1.2", ratio <= 1.2))
    return rows


def _row(metric: str, value: float, unit: str, goal: str | None = None, ok: bool | None = None) -> dict:
    return {"benchmark": NAME, "metric": metric, "value": round(value, 3), "unit": unit, "goal": goal, "ok": ok}


def run(quick: bool = False) -> list[dict]:
    saved = dict(os.environ)
    os.environ.update(_environment())
    try:
        from functions.common import config

        config.reset()
        return cpu_rows(quick) + aws_call_rows() + import_rows(quick)
    finally:
        os.environ.clear()
        os.environ.update(saved)


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(f"{row['metric']}: {row['value']} {row['unit']}" + (f"  (goal {row['goal']})" if row["goal"] else ""))

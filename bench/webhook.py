"""webhook: CPU per message against bare wechatpy, AWS calls per message.

- CPU: the webhook's whole path for a message (verify, decrypt, parse, de-duplicate,
  route, intent round trip, render, encrypt), divided by a bare endpoint written directly
  against wechatpy and botocore (verify+decrypt+parse, the claim, the Invoke, the stored
  reply, reply+encrypt) on the same messages in the same run. AWS is stubbed at botocore's
  `before-call` event for both (the clients check, build and serialise every request;
  nothing goes on the wire). Both get the same safe-mode requests and answer each with the
  same text, so both verify two signatures, parse two XML documents, run AES twice and make
  the same AWS calls per message; the webhook also pays for its own checks (timestamp
  window, size limit, DOCTYPE/ENTITY, strict padding), the de-duplication's states, routing
  and the intent contract. The goal is for a safe-mode account; for a compatible one both
  write the nonce record with the claim (a transaction). CPU time counts every thread.
- AWS calls per message, first delivery and retries, counted with a botocore event hook:
  DynamoDB in moto, the Lambda Invoke API served on 127.0.0.1 with a canned reply.

Cold starts are bench/cold_start.py's: a fresh process's first reply, every import and
client it needs included. (Importing a handler module alone measured what a module defers
to its first call as free; those rows are retired.)
"""
from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

NAME = "webhook"
ROOT = Path(__file__).resolve().parents[1]
REPLY = {"v": 2, "type": "text", "text": "您好，离您最近的网点是甬城银行天一支行，步行约5分钟。"}
CPU_GOAL = 1.3
CALLS_GOAL = 3


def _environment() -> dict[str, str]:
    """The local stage's environment, as the tests set it up (before importing functions)."""
    from infra.local import resources, slsconfig

    config = slsconfig.load("local")
    pending = {k: {"Ref": f"pending-{k}", "Arn": f"pending-{k}"} for k in config.resources}
    env = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "cn-north-1",
           "AWS_REGION": "cn-north-1"}
    env.update(resources.local_environment(config, pending))
    return env


def _messages(count: int, sender: str = "o_bench") -> list[str]:
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
        out.append(f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{sender}_{i}]]>"
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
    for xml in messages:
        ts, nonce = str(int(time.time())), secrets.token_hex(5)
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


def _bare_wechatpy(requests: list[tuple[dict, bytes]], nonces: bool = False) -> None:
    """What any WeChat endpoint that de-duplicates in DynamoDB and asks a Lambda function
    for the answer must do at least, written directly against wechatpy and botocore: the
    same three AWS calls as the webhook (the claim with a nonce record in one transaction
    when `nonces`), with the same clients."""
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.parser import parse_message
    from wechatpy.replies import TextReply
    from wechatpy.utils import check_signature

    from functions.common import aws

    token, table = os.environ["WECHAT_TOKEN"], os.environ["TABLE_WECHAT_STATE"]
    crypto = WeChatCrypto(token, os.environ["WECHAT_ENCODING_AES_KEY"], os.environ["WECHAT_APP_ID"])
    dynamodb, lam = aws.client("dynamodb"), aws.client("lambda", read_timeout=3.25, max_attempts=1,
                                                        connect_timeout=aws.INVOKE_CONNECT_S)
    for params, body in requests:
        check_signature(token, params["signature"], params["timestamp"], params["nonce"])
        xml = crypto.decrypt_message(body, params["msg_signature"], params["timestamp"], params["nonce"])
        message = parse_message(xml)
        claim = {"TableName": table, "Item": {"pk": {"S": f"msg#{message.source}:{message.id}"},
                                              "status": {"S": "processing"}},
                 "ConditionExpression": "attribute_not_exists(pk)"}
        if nonces:
            seen = {"TableName": table, "Item": {"pk": {"S": f"nonce#{params['timestamp']}:{params['nonce']}"}},
                    "ConditionExpression": "attribute_not_exists(pk)"}
            dynamodb.transact_write_items(TransactItems=[{"Put": claim}, {"Put": seen}])
        else:
            dynamodb.put_item(**claim)
        answer = json.loads(lam.invoke(FunctionName="intent", Payload=json.dumps({"openid": message.source}).encode())[
            "Payload"].read())
        dynamodb.put_item(TableName=table, Item={"pk": {"S": f"msg#{message.source}:{message.id}"},
                                                 "reply": {"S": json.dumps(answer)}})
        reply = TextReply(message=message, content=answer["text"]).render()
        crypto.encrypt_message(reply, params["nonce"], params["timestamp"])


def _webhook(requests: list[tuple[dict, bytes]]) -> None:
    from functions.webhook import dispatch

    for params, body in requests:
        dispatch.receive(params, body)


@contextmanager
def _stubbed_aws():
    """Every AWS call answered at botocore's `before-call` event, as botocore's Stubber does
    but without a queue of expected calls: a write succeeds, an Invoke returns REPLY. The
    clients still check, build and serialise every request; nothing goes on the wire."""
    import io

    from botocore.awsrequest import AWSResponse
    from botocore.response import StreamingBody

    from functions.common import aws

    payload = json.dumps(REPLY).encode()
    ok = AWSResponse(None, 200, {}, None)

    def answer(model, **_):
        if model.name == "Invoke":
            return ok, {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(payload), len(payload))}
        return ok, {}

    aws.reset()
    aws.session().register("before-call.*.*", answer)
    try:
        yield
    finally:
        aws.reset()


def _cpu_per_message(fn, requests, rounds: int) -> float:
    """Median CPU seconds per message (every thread of the process counts)."""
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        fn(requests)
        samples.append((time.process_time() - start) / len(requests))
    return statistics.median(samples)


def cpu_rows(quick: bool) -> list[dict]:
    from functions.common import config

    requests = _sealed(_messages(40 if quick else 200))
    rounds = 3 if quick else 9
    rows = []
    with _stubbed_aws():
        for account in ("safe", "compatible"):
            os.environ["WECHAT_MESSAGE_MODE"] = account
            config.reset()

            def bare(sent, nonces=account != "safe"):
                _bare_wechatpy(sent, nonces)

            _webhook(requests[:8])  # warm both paths: imports, clients and caches
            bare(requests[:8])
            ours, theirs = [], []
            for _ in range(rounds):  # interleaved, so drift hits both alike
                ours.append(_cpu_per_message(_webhook, requests, 1))
                theirs.append(_cpu_per_message(bare, requests, 1))
            ours_s, bare_s = statistics.median(ours), statistics.median(theirs)
            ratio = ours_s / bare_s
            goal = account == "safe"
            rows += [
                _row(f"CPU per message, webhook, {account} account (AWS stubbed)", ours_s * 1e6, "µs"),
                _row(f"CPU per message, bare wechatpy + the same AWS calls, {account} account", bare_s * 1e6, "µs"),
                _row(f"CPU per message, webhook / bare, {account} account", ratio, "×",
                     f"≤ {CPU_GOAL}" if goal else None, ratio <= CPU_GOAL if goal else None),
            ]
    return rows


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
    from moto import mock_aws

    from functions.common import aws, config
    from functions.webhook import dispatch
    from infra.local import resources, slsconfig
    from infra.local.gateway import InvokeEndpoint
    from infra.local.lambdas import Lambdas

    class Answering(Lambdas):
        def call(self, key, event, timeout_s=None):
            return REPLY

    stack = slsconfig.load("local")
    rows = []
    with _counting_aws_calls() as calls, mock_aws():
        lambda_api = InvokeEndpoint(Answering(stack))
        try:
            os.environ.update(resources.local_environment(stack, resources.create_all(stack)))
            os.environ["AWS_ENDPOINT_URL_LAMBDA"] = lambda_api.url
            for account in ("safe", "compatible"):
                os.environ["WECHAT_MESSAGE_MODE"] = account
                config.reset()
                aws.reset()
                messages = _messages(4, f"o_{account}")
                requests = _sealed(messages)
                counted = {}
                for label, sent in (("first delivery", requests), ("WeChat's retry", requests),
                                    ("a retry under a new nonce", _sealed(messages))):
                    calls.clear()
                    for params, body in sent:
                        dispatch.receive(params, body)
                    counted[label] = dict(calls)
                for label, per in counted.items():
                    if account == "safe" and label == "a retry under a new nonce":
                        continue  # the same as WeChat's retry: a signed body has no nonce record
                    total = sum(per.values()) / len(requests)
                    detail = ", ".join(f"{k} {v / len(requests):g}" for k, v in sorted(per.items()))
                    goal = label == "first delivery"
                    rows.append(_row(f"AWS calls per message, {account} account, {label} ({detail})", total, "calls",
                                     f"≤ {CALLS_GOAL}" if goal else None, total <= CALLS_GOAL if goal else None))
        finally:
            lambda_api.stop()
            aws.reset()
    return rows


def _row(metric: str, value: float, unit: str, goal: str | None = None, ok: bool | None = None) -> dict:
    return {"benchmark": NAME, "metric": metric, "value": round(value, 3), "unit": unit, "goal": goal, "ok": ok}


def run(quick: bool = False) -> list[dict]:
    saved = dict(os.environ)
    os.environ.update(_environment())
    try:
        from functions.common import config

        config.reset()
        return cpu_rows(quick) + aws_call_rows()
    finally:
        os.environ.clear()
        os.environ.update(saved)


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(f"{row['metric']}: {row['value']} {row['unit']}" + (f"  (goal {row['goal']})" if row["goal"] else ""))

"""The whole stack started as `make run` starts it (a separate process), driven over HTTP
the way WeChat, a customer's browser and an operator would."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import requests
import xmltodict
from botocore.config import Config
from wechatpy.crypto import WeChatCrypto

from functions.common import clock
from infra.local.resources import LOCAL_WECHAT
from tests.named_times import WEEKDAY_MORNING

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "wxlocal0000000000"
ACCOUNT = "gh_0123456789ab"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    """`CLOCK_AT=<a Monday morning> python -m infra.local.cli run --port <free port>`, as
    `CLOCK_AT=... make run` runs it."""
    port = _free_port()
    log = tmp_path_factory.mktemp("make-run") / "stack.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TABLE_", "WECHAT_", "PYTEST"))}
    env.update({"PYTHONPATH": str(ROOT), "PORT": str(port), "COLUMNS": "200", "CLOCK_AT": WEEKDAY_MORNING})
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "infra.local.cli", "run", "--port", str(port)],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if process.poll() is not None:
                pytest.fail(f"the stack exited with {process.returncode}:\n{log.read_text()[-4000:]}")
            try:
                if requests.get(f"{url}/_local/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            try:
                process.wait(timeout=0.1)  # the stack exiting ends the wait at once
            except subprocess.TimeoutExpired:
                pass
        else:
            pytest.fail(f"the stack did not answer in time:\n{log.read_text()[-4000:]}")
        yield url, log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_it_prints_what_it_serves(make_run):
    url, log = make_run
    printed = log.read_text()
    for expected in (f"{url}/wechat", f"{url}/_local/", "_wechat/_admin/outbox", LOCAL_WECHAT["WECHAT_TOKEN"],
                     LOCAL_WECHAT["WECHAT_ENCODING_AES_KEY"]):
        assert expected in printed


def test_health_routes_and_demo_data(make_run):
    url, _ = make_run
    health = requests.get(f"{url}/_local/health", timeout=10).json()
    assert health["status"] == "ok" and health["fake_wechat"] is True
    assert all("error" not in outcome for outcome in health["demo"].values()), health["demo"]
    routes = {(r["method"], r["path"]) for r in requests.get(f"{url}/_local/routes", timeout=10).json()}
    assert ("POST", "/wechat") in routes
    assert requests.get(f"{url}/no/such/route", timeout=10).status_code == 403
    queues = requests.get(f"{url}/_local/queues", timeout=10).json()
    assert any(q["dead_letter_queue"] for q in queues)


def test_it_runs_on_the_clock_it_was_given(make_run):
    url, _ = make_run
    now = requests.get(f"{url}/_local/clock", timeout=10).json()
    assert now["set"] is True
    assert now["local"].startswith("2026-11-16T10:0")  # and on from there
    assert requests.get(f"{url}/_local/env", timeout=10).json()["CLOCK_AT"] >= "2026-11-16T02:00:00Z"


def _stack_time(url: str) -> int:
    """Now on the stack's clock, as WeChat's servers would stamp a message to it."""
    return int(clock.parse_utc(requests.get(f"{url}/_local/clock", timeout=10).json()["now"]).timestamp())


def _signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - WeChat's algorithm


def _text_message(openid: str, text: str, at: int) -> str:
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{at}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{secrets.randbelow(10**15)}</MsgId></xml>")


def _webhook_ready() -> bool:
    return importlib.util.find_spec("functions.webhook.app") is not None


def test_a_signed_text_message_gets_a_reply(make_run):
    if not _webhook_ready():
        pytest.xfail("functions/webhook/app.py is not written yet")
    url, _ = make_run
    token = LOCAL_WECHAT["WECHAT_TOKEN"]
    openid = "o_e2e_" + secrets.token_hex(8)
    at = _stack_time(url)
    timestamp, nonce = str(at), secrets.token_hex(5)
    res = requests.post(f"{url}/wechat", params={"signature": _signature(token, timestamp, nonce),
                                                 "timestamp": timestamp, "nonce": nonce, "openid": openid},
                        data=_text_message(openid, "网点", at).encode(), headers={"Content-Type": "text/xml"},
                        timeout=10)
    assert res.status_code == 200, res.text
    reply = xmltodict.parse(res.text)["xml"]
    assert reply["ToUserName"] == openid and reply["FromUserName"] == ACCOUNT
    assert reply["MsgType"] in ("text", "news")


def test_a_safe_mode_message_gets_an_encrypted_reply(make_run):
    if not _webhook_ready():
        pytest.xfail("functions/webhook/app.py is not written yet")
    url, _ = make_run
    token, aes_key = LOCAL_WECHAT["WECHAT_TOKEN"], LOCAL_WECHAT["WECHAT_ENCODING_AES_KEY"]
    crypto = WeChatCrypto(token, aes_key, APP_ID)
    openid = "o_e2e_" + secrets.token_hex(8)
    at = _stack_time(url)
    timestamp, nonce = str(at), secrets.token_hex(5)
    encrypted = crypto.encrypt_message(_text_message(openid, "你好", at), nonce, timestamp)
    envelope = xmltodict.parse(encrypted)["xml"]
    res = requests.post(f"{url}/wechat", params={
        "signature": _signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
        "openid": openid, "encrypt_type": "aes", "msg_signature": envelope["MsgSignature"]},
        data=encrypted.encode(), headers={"Content-Type": "text/xml"}, timeout=10)
    assert res.status_code == 200, res.text
    outer = xmltodict.parse(res.text)["xml"]
    plain = crypto.decrypt_message(res.text, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
    reply = xmltodict.parse(plain)["xml"]
    assert reply["ToUserName"] == openid and reply["MsgType"] in ("text", "news")


def test_the_invoke_api_serves_boto3(make_run):
    url, _ = make_run
    client = boto3.client("lambda", endpoint_url=url, region_name="cn-north-1", aws_access_key_id="x",  # noqa: TID251 - another endpoint
                          aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))
    res = client.invoke(FunctionName="wechat-bank-local-branchLookupQuery",
                        Payload=json.dumps({"op": "nearest", "lat": 29.8683, "lng": 121.544, "k": 3}).encode())
    assert "FunctionError" not in res
    assert len(json.loads(res["Payload"].read())["branches"]) == 3
    res = client.invoke(FunctionName="wechat-bank-local-branchLookupQuery", Payload=b'{"op": "nonsense"}')
    assert res["FunctionError"] == "Unhandled"


def test_schedule_fire_from_the_command_line(make_run):
    url, _ = make_run
    listed = requests.get(f"{url}/_local/schedules", timeout=10).json()
    assert listed, "serverless.yml defines no schedule"
    name = listed[0]["name"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOCAL_STACK_URL": url}
    done = subprocess.run([sys.executable, "-m", "infra.local.cli", "schedule", "fire", name], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    after = {s["name"]: s for s in requests.get(f"{url}/_local/schedules", timeout=10).json()}
    assert after[name]["fired"] == 1

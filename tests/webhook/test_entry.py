"""The webhook's Lambda handler (functions/webhook/entry.py): WeChat's requests answered from
API Gateway's own event without Chalice, everything else handed to the Chalice app, in the
same shapes. (The rest of tests/webhook sends its requests through the same handler.)"""
from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from infra.local import runtime
from infra.local.gateway import Route, proxy_event
from tests.conftest import CONFIG
from tests.webhook import wechat_side as wx

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def gateway_event(path: str, method: str = "POST", body: bytes = b"", content_type: str | None = "text/xml",
                  resource: str = "/wechat") -> dict:
    """The REST v1 event API Gateway hands the function (infra.local.gateway builds it so)."""
    headers = {"Content-Type": content_type} if content_type else {}
    builder = EnvironBuilder(path=path, method=method, data=body, headers=headers)
    return proxy_event(Request(builder.get_environ()), Route(method, resource, "webhook"), {}, "dev", [])


def handle(event: dict) -> dict:
    return runtime.call(CONFIG, "webhook", event)


def test_the_message_path_imports_no_chalice():
    """What a message's first reply imports: serverless.yml's handler and everything it
    runs for /wechat, and neither Chalice nor the pages' HTTP helpers."""
    function = CONFIG.functions["webhook"]
    code = (f"import sys, importlib; importlib.import_module({function.module!r})\n"
            "from functions.webhook import dispatch\nfrom functions.common import headers\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'chalice' or m == 'functions.common.http')\n"
            "print(loaded)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT},
                         capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_a_message_in_api_gateways_event_gets_its_reply_with_the_security_headers(invocations, mode):
    openid = wx.new_openid()
    path, body = wx.request(wx.msg("text", openid, Content="我的预约"), mode)
    answer = handle(gateway_event(path, body=body))
    assert answer["statusCode"] == 200, answer
    assert answer["headers"]["Content-Type"] == "application/xml; charset=utf-8"
    assert answer["headers"]["X-Content-Type-Options"] == "nosniff"
    assert answer["headers"]["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'self'"
    reply = wx.read_reply(answer["body"], mode)
    assert reply is not None and reply["ToUserName"] == openid
    assert invocations.keys() == ["bookingIntent"]


def test_a_base64_body_is_read_as_api_gateway_sends_it(invocations):
    path, body = wx.request(wx.msg("text", Content="我的预约"))
    event = gateway_event(path, body=body)
    event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
    answer = handle(event)
    assert answer["statusCode"] == 200 and wx.read_reply(answer["body"], "plain") is not None


def test_a_forged_message_is_refused_and_nothing_is_asked(invocations):
    path, body = wx.request(wx.msg("text", Content="我的预约"))
    answer = handle(gateway_event(path.replace("signature=", "signature=0"), body=body))
    assert answer["statusCode"] == 403 and answer["headers"]["Content-Type"] == "text/plain; charset=utf-8"
    assert answer["headers"]["X-Content-Type-Options"] == "nosniff"
    assert invocations.keys() == []


def test_what_wechat_never_sends_is_answered_by_the_chalice_app(invocations):
    """An unlisted content type (Chalice's refusal, in the one error shape) and the other
    routes go to the app."""
    path, body = wx.request(wx.msg("text", Content="我的预约"))
    refused = handle(gateway_event(path, body=body, content_type="application/json"))
    assert refused["statusCode"] == 415 and refused["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert "不支持的请求格式" in refused["body"]
    login = handle(gateway_event("/oauth/callback", method="GET", content_type=None, resource="/oauth/callback"))
    assert login["statusCode"] == 400 and "链接已失效" in login["body"]
    assert invocations.keys() == []

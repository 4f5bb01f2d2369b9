"""webhook's routes answer what docs/api/webhook.yaml documents, with WeChat's side played
by wechatpy (tests/webhook/wechat_side.py)."""
from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from scripts import openapi_check as oc
from tests.docs.conformance import conforms
from tests.webhook import wechat_side

SPEC = oc.load("webhook")
XML = {"Content-Type": "text/xml"}


@pytest.fixture
def client(aws):
    from functions.webhook.app import app

    with Client(app) as c:
        yield c


def verify_url(**override) -> str:
    import os

    timestamp, nonce = str(int(time.time())), "n0nce"
    query = {"signature": wechat_side.signature(os.environ["WECHAT_TOKEN"], timestamp, nonce),
             "timestamp": timestamp, "nonce": nonce, "echostr": "e1"}
    return "/wechat?" + urlencode({**query, **override})


def test_server_verification(client):
    ok = client.http.get(verify_url())
    assert (ok.status_code, conforms(SPEC, "GET", "/wechat", ok)) == (200, "e1")
    forged = client.http.get(verify_url(signature="0" * 40))
    assert (forged.status_code, conforms(SPEC, "GET", "/wechat", forged)) == (403, "bad_signature")
    stale = client.http.get(verify_url(timestamp="1"))
    assert stale.status_code == 403
    conforms(SPEC, "GET", "/wechat", stale)


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_messages_get_documented_answers(client, mode):
    url, body = wechat_side.request(wechat_side.msg("text", Content="帮助"), mode)
    reply = client.http.post(url, headers=XML, body=body)
    assert reply.status_code == 200
    conforms(SPEC, "POST", "/wechat", reply)
    assert wechat_side.read_reply(reply.body, mode)["MsgType"] == "text"
    url, body = wechat_side.request(wechat_side.event("unsubscribe"), mode)
    silent = client.http.post(url, headers=XML, body=body)
    assert (silent.status_code, conforms(SPEC, "POST", "/wechat", silent)) == (200, "success")


def test_refused_messages_get_documented_codes(client):
    url, _ = wechat_side.request(wechat_side.msg("text", Content="网点"))
    entity = b'<!DOCTYPE x [<!ENTITY e "x">]><xml><Content>&e;</Content></xml>'
    for body, status, code in [(entity, 400, "forbidden_xml"), (b"<xml><a>", 400, "malformed"),
                               (b"x" * 70000, 413, "body_too_large")]:
        response = client.http.post(url, headers=XML, body=body)
        assert (response.status_code, conforms(SPEC, "POST", "/wechat", response)) == (status, code)
    forged = client.http.post(url.replace("signature=", "signature=0"), headers=XML, body=b"<xml/>")
    assert (forged.status_code, conforms(SPEC, "POST", "/wechat", forged)) == (403, "bad_signature")


def test_oauth_callback_refuses_a_forged_state(client):
    response = client.http.get("/oauth/callback?" + urlencode({"code": "c1", "state": "L2Jvb2tpbmc.forged"}))
    assert response.status_code == 400
    assert "bad_oauth_callback" in conforms(SPEC, "GET", "/oauth/callback", response)

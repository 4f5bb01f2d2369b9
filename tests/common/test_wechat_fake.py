"""The fake WeChat API over HTTP: what the local stack and other features' tests rely on."""
from __future__ import annotations

import random

import pytest
import requests

from infra.local.fake_wechat import FakeWeChat, serve


@pytest.fixture
def served():
    fake = FakeWeChat(appid="wxapp", secret="s3cret", rng=random.Random(7))
    server, base = serve(0, fake)
    yield fake, base + "_wechat/"  # mounted under a prefix, as the local stack does
    server.shutdown()


def _token(base: str, force: bool = False) -> str:
    res = requests.post(base + "cgi-bin/stable_token", timeout=5,
                        json={"grant_type": "client_credential", "appid": "wxapp", "secret": "s3cret",
                              "force_refresh": force}).json()
    return res["access_token"]


def _send(base: str, token: str, openid: str = "o_user") -> dict:
    return requests.post(base + "cgi-bin/message/template/send", params={"access_token": token}, timeout=5,
                         json={"touser": openid, "template_id": "T1", "data": {"k": {"value": "v"}}}).json()


def test_stable_token_is_stable_until_forced(served):
    fake, base = served
    first = _token(base)
    assert _token(base) == first
    forced = _token(base, force=True)
    assert forced != first
    assert _send(base, first)["errcode"] == 40001
    assert _send(base, forced)["errcode"] == 0
    assert fake.token_fetches == 3


def test_wrong_secret_is_refused(served):
    _, base = served
    res = requests.post(base + "cgi-bin/stable_token", timeout=5,
                        json={"grant_type": "client_credential", "appid": "wxapp", "secret": "nope"}).json()
    assert res["errcode"] == 40125


def test_outbox_over_http(served):
    fake, base = served
    token = _token(base)
    msgid = _send(base, token, "o_a")["msgid"]
    requests.post(base + "cgi-bin/message/custom/send", params={"access_token": token}, timeout=5,
                  json={"touser": "o_b", "msgtype": "text", "text": {"content": "您好"}})
    mine = requests.get(base + "_admin/outbox", params={"openid": "o_a"}, timeout=5).json()
    assert [(m["msgid"], m["kind"], m["status"]) for m in mine] == [(str(msgid), "template", "success")]
    everyone = requests.get(base + "_admin/outbox", timeout=5).json()
    assert [(m["openid"], m["text"]) for m in everyone] == [("o_a", ""), ("o_b", "您好")]
    assert [m.openid for m in fake.sent()] == ["o_a", "o_b"]


def test_faults_by_count_over_http(served):
    fake, base = served
    token = _token(base)
    requests.post(base + "_admin/faults", timeout=5,
                  json={"endpoint": "message/template/send", "errcode": -1, "count": 3})
    assert [_send(base, token)["errcode"] for _ in range(4)] == [-1, -1, -1, 0]
    assert len(fake.sent()) == 1


def test_faults_by_probability(served):
    fake, base = served
    token = _token(base)
    fake.inject("message/template/send", 45009, probability=0.2)
    codes = [_send(base, token)["errcode"] for _ in range(100)]
    assert 5 <= codes.count(45009) <= 40
    assert len(fake.sent()) == codes.count(0)
    requests.delete(base + "_admin/faults", timeout=5)
    assert _send(base, token)["errcode"] == 0


def test_unfollowed_user_and_delivery_status(served):
    fake, base = served
    token = _token(base)
    requests.post(base + "_admin/users", json={"openid": "o_gone"}, timeout=5)
    assert _send(base, token, "o_gone")["errcode"] == 43004
    fake.set_delivery_status("o_blocked", "failed:user block")
    _send(base, token, "o_blocked")
    assert fake.sent("o_blocked")[0].status == "failed:user block"


def test_oauth_authorize_and_exchange(served):
    _, base = served
    res = requests.get(base + "connect/oauth2/authorize", allow_redirects=False, timeout=5,
                       params={"appid": "wxapp", "redirect_uri": "http://127.0.0.1:9/oauth/callback?x=1",
                               "response_type": "code", "scope": "snsapi_base", "state": "abc"})
    assert res.status_code == 302
    location = res.headers["Location"]
    assert location.startswith("http://127.0.0.1:9/oauth/callback?x=1&code=") and location.endswith("&state=abc")
    code = location.split("code=")[1].split("&")[0]
    exchange = {"appid": "wxapp", "secret": "s3cret", "code": code, "grant_type": "authorization_code"}
    first = requests.get(base + "sns/oauth2/access_token", params=exchange, timeout=5).json()
    assert first["openid"] == "o_demo_customer"
    assert requests.get(base + "sns/oauth2/access_token", params=exchange, timeout=5).json()["errcode"] == 40029


def test_latency_fault(served):
    fake, base = served
    fake.inject("cgi-bin/menu/get", latency=0.3, count=1)
    token = _token(base)
    with pytest.raises(requests.Timeout):
        requests.get(base + "cgi-bin/menu/get", params={"access_token": token}, timeout=0.1)
    assert requests.get(base + "cgi-bin/menu/get", params={"access_token": token}, timeout=5).json()["errcode"] == 46003

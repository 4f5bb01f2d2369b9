"""The WeChat API client against the fake WeChat API, with the token in moto's DynamoDB."""
from __future__ import annotations

import threading
from datetime import UTC

import pytest

from functions.common import config
from functions.common.wechat import client as wx
from functions.common.wechat.errors import (
    WeChatInvalidToken,
    WeChatQuotaExceeded,
    WeChatRejected,
    WeChatTransient,
    WeChatUncertain,
    WeChatUserUnreachable,
)
from tests.aws_clients import clients
from tests.eventually import eventually

OPENID = "o_client_test_user_000000000"


@pytest.fixture
def fake_wechat_api(aws, monkeypatch):
    from tests.webhook.fake_api import running

    with running(monkeypatch) as fake:
        yield fake


def _new_client() -> wx.BankWeChatClient:
    """A client as another container would have it: nothing shared but the table."""
    s = config.settings()
    return wx.BankWeChatClient(s.wechat_app_id, config.secret("WECHAT_APP_SECRET"), s.wechat_api_base)


def _state_items() -> list[dict]:
    table = clients.resource("dynamodb").Table(config.settings().table("wechat_state"))
    return table.scan()["Items"]


def test_send_template_returns_msgid_and_is_recorded(fake_wechat_api):
    msgid = wx.get_client().send_template(OPENID, "TPL_CARD", {"amount": "¥12.00", "merchant": "宁波超市"},
                                          url="http://127.0.0.1/notify")
    sent = fake_wechat_api.sent(OPENID)
    assert [m.msgid for m in sent] == [msgid]
    assert sent[0].payload["data"] == {"amount": {"value": "¥12.00"}, "merchant": {"value": "宁波超市"}}
    assert sent[0].payload["url"] == "http://127.0.0.1/notify"


def test_token_is_stored_with_expiry_and_reused(fake_wechat_api):
    client = wx.get_client()
    client.send_text(OPENID, "一")
    _new_client().send_text(OPENID, "二")
    assert fake_wechat_api.token_fetches == 1
    [item] = [i for i in _state_items() if i["pk"].startswith("token#")]
    assert item["pk"] == f"token#{config.settings().wechat_app_id}"
    assert fake_wechat_api.valid_token(item["value"])
    assert int(item["expires_at"]) > 0
    assert [m.text for m in fake_wechat_api.sent(OPENID)] == ["一", "二"]


def test_expired_token_in_table_is_not_used(fake_wechat_api, frozen_clock):
    from datetime import datetime, timedelta

    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    frozen_clock(start)
    client = wx.get_client()
    client.send_text(OPENID, "一")
    frozen_clock(start + timedelta(seconds=7200 - 30))  # inside the safety margin
    client.send_text(OPENID, "二")
    assert fake_wechat_api.token_fetches == 2


def test_a_token_is_remembered_briefly_and_forgotten_on_a_token_error(fake_wechat_api, frozen_clock, monkeypatch):
    from datetime import datetime, timedelta

    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    frozen_clock(start)
    client = _new_client()
    client.send_text(OPENID, "一")
    reads: list[str] = []
    read = client.session.get
    monkeypatch.setattr(client.session, "get", lambda key, default=None: reads.append(key) or read(key, default))
    client.send_text(OPENID, "二")
    assert reads == []  # no read of the shared store per send
    frozen_clock(start + timedelta(seconds=client.token_memory_s + 1))
    client.send_text(OPENID, "三")
    assert reads == [client.access_token_key]
    fake_wechat_api.revoke_tokens()
    client.send_text(OPENID, "四")
    assert fake_wechat_api.token_fetches == 2
    assert [m.text for m in fake_wechat_api.sent(OPENID)] == ["一", "二", "三", "四"]


def test_many_threads_cause_one_fetch(fake_wechat_api):
    clients = [_new_client() for _ in range(12)]
    barrier = threading.Barrier(len(clients))
    tokens: list[str] = []
    errors: list[Exception] = []

    def work(c: wx.BankWeChatClient) -> None:
        try:
            barrier.wait()
            tokens.append(c.access_token)
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert fake_wechat_api.token_fetches == 1
    assert len(set(tokens)) == 1
    assert not [i for i in _state_items() if i["pk"].startswith("lease#")]


def test_invalid_token_causes_one_refresh_and_retry(fake_wechat_api):
    client = wx.get_client()
    client.send_text(OPENID, "一")
    old = client.session.get(client.access_token_key)
    fake_wechat_api.revoke_tokens()
    client.send_text(OPENID, "二")
    assert fake_wechat_api.token_fetches == 2
    new = client.session.get(client.access_token_key)
    assert new != old and fake_wechat_api.valid_token(new)
    assert [m.text for m in fake_wechat_api.sent(OPENID)] == ["一", "二"]


def test_invalid_token_seen_by_two_containers_refreshes_once(fake_wechat_api):
    first, second = _new_client(), _new_client()
    stale = first.access_token
    fake_wechat_api.revoke_tokens()
    first.send_text(OPENID, "一")  # drops the stale token, refreshes
    # the second container still holds the stale token: it must not drop the new one
    assert second._drop_token(stale) is False
    second.send_text(OPENID, "二")
    assert fake_wechat_api.token_fetches == 2


def test_token_error_that_survives_refresh_is_typed(fake_wechat_api):
    client = wx.get_client()
    client.access_token  # noqa: B018 - fetch it first
    fake_wechat_api.inject("message/custom/send", 40001, count=2)
    with pytest.raises(WeChatInvalidToken):
        client.send_text(OPENID, "一")
    assert fake_wechat_api.token_fetches == 2
    assert fake_wechat_api.sent(OPENID) == []


def test_system_busy_is_retried_with_backoff(fake_wechat_api):
    client = wx.get_client()
    fake_wechat_api.inject("message/template/send", -1, count=2)
    msgid = client.send_template(OPENID, "TPL", {"k": "v"})
    assert [m.msgid for m in fake_wechat_api.sent(OPENID)] == [msgid]
    assert fake_wechat_api.calls["cgi-bin/message/template/send"] == 3


def test_system_busy_gives_up_after_bounded_retries(fake_wechat_api):
    client = wx.get_client()
    fake_wechat_api.inject("message/template/send", -1)
    with pytest.raises(WeChatTransient):
        client.send_template(OPENID, "TPL", {"k": "v"})
    assert fake_wechat_api.calls["cgi-bin/message/template/send"] == 1 + wx.BankWeChatClient.max_transient_retries


def test_quota_error_drops_nothing(fake_wechat_api):
    client = wx.get_client()
    client.send_text(OPENID, "一")
    token = client.session.get(client.access_token_key)
    fake_wechat_api.inject("message/template/send", 45009, count=1)
    with pytest.raises(WeChatQuotaExceeded):
        client.send_template(OPENID, "TPL", {"k": "v"})
    assert client.session.get(client.access_token_key) == token
    assert fake_wechat_api.token_fetches == 1
    assert fake_wechat_api.calls["cgi-bin/message/template/send"] == 1
    client.send_template(OPENID, "TPL", {"k": "v"})
    assert len(fake_wechat_api.sent(OPENID)) == 2


@pytest.mark.parametrize("errcode", [43004, 43101])
def test_unreachable_user(fake_wechat_api, errcode):
    fake_wechat_api.inject("message/template/send", errcode, count=1)
    with pytest.raises(WeChatUserUnreachable) as info:
        wx.get_client().send_template(OPENID, "TPL", {"k": "v"})
    assert info.value.errcode == errcode


def test_unfollowed_user_is_unreachable(fake_wechat_api):
    fake_wechat_api.unfollow(OPENID)
    with pytest.raises(WeChatUserUnreachable):
        wx.get_client().send_text(OPENID, "一")


def test_slow_wechat_times_out_as_transient(fake_wechat_api, monkeypatch):
    client = _new_client()
    client.access_token  # noqa: B018
    client.timeout = 0.05
    monkeypatch.setattr(client, "max_transient_retries", 0)
    fake_wechat_api.inject("menu/get", latency=0.5, count=1)
    with pytest.raises(WeChatTransient):
        client.get_menu()


def test_a_message_send_whose_answer_is_late_is_uncertain_and_never_repeated(fake_wechat_api):
    client = _new_client()
    client.access_token  # noqa: B018
    client.timeout = (5.0, 0.05)  # connect at leisure (a loaded machine), read the answer in 50 ms
    fake_wechat_api.inject("message/custom/send", latency=0.5, count=1)
    with pytest.raises(WeChatUncertain):
        client.send_text(OPENID, "一")
    # the fake may not have taken the request yet on a loaded machine
    eventually(lambda: fake_wechat_api.calls.get("cgi-bin/message/custom/send", 0) >= 1, "the fake took the send")
    fake_wechat_api.wait_idle()
    assert [m.kind for m in fake_wechat_api.sent(OPENID)] == ["text"]  # delivered once, not retried
    assert fake_wechat_api.calls["cgi-bin/message/custom/send"] == 1


def test_menu_round_trip(fake_wechat_api):
    client = wx.get_client()
    assert client.get_menu() is None
    menu = {"button": [{"type": "click", "name": "网点", "key": "BRANCH_NEARBY"}]}
    client.create_menu(menu)
    assert client.get_menu()["menu"] == menu


def test_oauth_code_is_single_use(fake_wechat_api):
    client = wx.get_client()
    code = fake_wechat_api.code_for("o_oauth_user")
    assert client.oauth_openid(code) == "o_oauth_user"
    with pytest.raises(WeChatRejected) as info:
        client.oauth_openid(code)
    assert info.value.errcode == 40029

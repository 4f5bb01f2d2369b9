"""The fake WeChat API as a fixture, with the real client pointed at it."""
from __future__ import annotations

import os

import pytest

from functions.common import config
from infra.local import fake_wechat


@pytest.fixture
def fake_wechat_api(aws, monkeypatch):
    """A fake WeChat API on a free port, with the client pointed at it (fast backoff)."""
    from functions.common.wechat import client

    fake = fake_wechat.FakeWeChat(appid=os.environ.get("WECHAT_APP_ID", config.settings().wechat_app_id),
                                  secret=os.environ["WECHAT_APP_SECRET"])
    server, base = fake_wechat.serve(0, fake)
    monkeypatch.setenv("WECHAT_API_BASE", base)
    monkeypatch.setenv("WECHAT_OPEN_BASE", base)
    monkeypatch.setattr(client.BankWeChatClient, "backoff_s", 0.01)
    config.reset()
    client._client.cache_clear()
    try:
        yield fake
    finally:
        server.shutdown()
        client._client.cache_clear()
        config.reset()

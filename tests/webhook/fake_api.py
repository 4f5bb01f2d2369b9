"""The fake WeChat API on a free port, with the real client pointed at it."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from functions.common import config
from infra.local import fake_wechat


@contextmanager
def running(monkeypatch: pytest.MonkeyPatch) -> Iterator[fake_wechat.FakeWeChat]:
    """Serve a fake for this app id and secret; WECHAT_API_BASE and WECHAT_OPEN_BASE point
    at it and the client backs off fast. Needs the `aws` fixture's environment."""
    from functions.common.wechat import client

    fake = fake_wechat.FakeWeChat(appid=config.settings().wechat_app_id, secret=os.environ["WECHAT_APP_SECRET"])
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

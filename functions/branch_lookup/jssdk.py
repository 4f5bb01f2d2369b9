"""WeChat JS-SDK config for our pages: the branch page's navigate button calls
wx.openLocation, which needs a config signed with the jsapi ticket (wechatpy caches the
ticket in the shared session storage). Pages fall back to a plain map link without it."""
from __future__ import annotations

import secrets

from functions.common import clock, config
from functions.common.errors import ServiceUnavailable, Validator


def config_for(url: str) -> dict[str, object]:
    """`wx.config` values for one of our page URLs (the part before any #)."""
    settings = config.settings()
    url = url.split("#", 1)[0]
    v = Validator()
    if not url.startswith(settings.public_base_url + "/branches/"):
        v.add("url", "invalid_url", "只能为本行网点页面签名")
    v.check()
    from functions.common.wechat.client import get_client
    from functions.common.wechat.errors import WeChatError

    client = get_client()
    try:
        ticket = client.jsapi.get_jsapi_ticket()
    except (WeChatError, OSError, KeyError) as error:
        raise ServiceUnavailable("微信服务暂不可用") from error
    nonce, timestamp = secrets.token_hex(8), clock.epoch()
    return {"appId": settings.wechat_app_id, "timestamp": timestamp, "nonceStr": nonce,
            "signature": client.jsapi.get_jsapi_signature(nonce, ticket, timestamp, url)}

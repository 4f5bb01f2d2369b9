"""The security headers of every answer, pages or anything else: Chalice-free, so WeChat's
message path (functions/webhook/entry.py) sends them without importing Chalice."""
from __future__ import annotations

import functools
from urllib.parse import urlsplit

from functions.common import config

# WeChat's JS-SDK (jweixin), by name: the only scripts pages load from elsewhere.
JS_SDK_HOSTS = ("https://res.wx.qq.com", "https://res2.wx.qq.com")
HSTS = "max-age=31536000; includeSubDomains"


@functools.lru_cache(maxsize=4)
def security_headers(settings: config.Settings, page: bool) -> dict[str, str]:
    """The headers of every answer, pages (`page`) or anything else (JSON, redirects, WeChat's
    XML). Pages run only the inline scripts and styles of the templates this function ships
    (by hash, computed once from the template files, never from what a response contains),
    the JS-SDK and WeUI's stylesheet; nothing may frame them in AWS (the local stack's
    simulator frames them from the stack's own origin)."""
    from functions.common import pages

    ancestors = "'none'" if settings.is_aws else "'self'"
    if page:
        scripts, styles = pages.inline_hashes()
        policy = "; ".join((
            "default-src 'none'",
            f"script-src {' '.join(scripts + JS_SDK_HOSTS)}",
            f"style-src {' '.join((_origin(pages.weui_css()),) + styles)}",
            "img-src 'self' data:",
            "connect-src 'self'",
            # a form whose session ended is sent on to WeChat's login
            f"form-action 'self' {_origin(settings.wechat_open_base)}",
            "base-uri 'none'",
            f"frame-ancestors {ancestors}",
        ))
    else:
        policy = f"default-src 'none'; frame-ancestors {ancestors}"
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY" if settings.is_aws else "SAMEORIGIN",
        "Cache-Control": "no-store",
    }
    if settings.is_aws:
        headers["Strict-Transport-Security"] = HSTS
    return headers


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def secure(response: dict) -> dict:
    """A Lambda proxy response with the security headers it does not set itself."""
    headers = response.get("headers") or {}
    multi = response.get("multiValueHeaders") or {}
    ctype = str(headers.get("Content-Type") or headers.get("content-type") or "")
    for name, value in security_headers(config.settings(), ctype.startswith("text/html")).items():
        if name not in headers and name not in multi:
            headers[name] = value
    response["headers"] = headers
    return response

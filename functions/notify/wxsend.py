"""Template messages sent at most once per attempt.

The shared client retries transport failures, which is right for reads and token calls but
not for a template send whose request reached WeChat and whose answer did not come back in
time: WeChat may have delivered it, and its template API takes no idempotency key, so a
retry can be a second message on the customer's phone. Here such a send raises
`SendUncertain` instead, for delivery.py to settle from WeChat's delivery report. A refused
or timed-out connection (the request never left) and -1 are still retried by the client.
"""
from __future__ import annotations

from functools import lru_cache

import requests
from urllib3.exceptions import ReadTimeoutError

from functions.common import config
from functions.common.wechat.client import BankWeChatClient

TEMPLATE_SEND = "message/template/send"


class SendUncertain(Exception):
    """The template send reached WeChat but its answer was lost or late: it may have been
    delivered."""


class _UncertainOnReadTimeout(requests.Session):
    """A session whose template sends report a read time-out as `SendUncertain`, which the
    client's retry loop (it catches only `requests.RequestException`) lets through."""

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        try:
            return super().request(method, url, *args, **kwargs)
        except (requests.ReadTimeout, requests.ConnectionError) as error:
            read_timeout = isinstance(error, requests.ReadTimeout) or (
                bool(error.args) and isinstance(error.args[0], ReadTimeoutError))
            if read_timeout and str(url).split("?", 1)[0].endswith(TEMPLATE_SEND):
                raise SendUncertain(type(error).__name__) from error
            raise


class TemplateSender(BankWeChatClient):
    """The shared client (same token in the wechat-state table, same errors) whose template
    sends are never repeated after a read time-out."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._http = _UncertainOnReadTimeout()


@lru_cache(maxsize=4)
def _sender(appid: str, api_base: str, secret: str, timeout: float) -> TemplateSender:
    return TemplateSender(appid, secret, api_base, timeout=timeout)


def sender() -> TemplateSender:
    """The container's sender, with the time-out of the shared client (`get_client()`)."""
    from functions.common.wechat.client import get_client

    s = config.settings()
    return _sender(s.wechat_app_id, s.wechat_api_base, config.secret("WECHAT_APP_SECRET"), get_client().timeout)

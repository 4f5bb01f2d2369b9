"""Typed WeChat API failures, so callers decide by kind and never by errcode."""
from __future__ import annotations


class WeChatError(Exception):
    """Any failed WeChat API call."""

    def __init__(self, errcode: int | None, errmsg: str = ""):
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class WeChatTransient(WeChatError):
    """-1 (system busy), time-outs, 5xx: try again later."""


class WeChatQuotaExceeded(WeChatError):
    """45009 and friends: the daily quota is spent; retry later, drop nothing."""


class WeChatUserUnreachable(WeChatError):
    """43004 (not following), 43101 (refused subscription messages): use another channel."""


class WeChatInvalidToken(WeChatError):
    """40001/40014/42001 that survived one refresh and retry."""


class WeChatRejected(WeChatError):
    """Anything else: our request is wrong (bad template id, bad data); do not retry."""


class WeChatUncertain(WeChatError):
    """A message send reached WeChat but its answer was lost or late, so WeChat may have
    delivered it. Message APIs take no idempotency key: never resend blindly; settle it
    from WeChat's delivery report (TEMPLATESENDJOBFINISH)."""

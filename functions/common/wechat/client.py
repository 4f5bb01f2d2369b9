"""The WeChat API client every function shares.

A wechatpy `WeChatClient` whose API base comes from the settings (the local stack and the
tests point it at the fake), whose access token comes from `stable_token` and lives in the
wechat-state table (so every function and container uses the same one), and whose failures
come out as the typed errors of `functions.common.wechat.errors`.

Token rules (WeChat's): one refresher at a time (a conditional-write lease); on
40001/40014/42001 the token is dropped only if it is still the stored one, then refreshed
once and the call retried once; -1 is retried with a bounded backoff; 45009 drops nothing.
"""
from __future__ import annotations

import random
import threading
import time
import uuid
from functools import lru_cache
from typing import Any

from wechatpy import WeChatClient
from wechatpy.session import SessionStorage

from functions.common import clock, config
from functions.common.once import build_once
from functions.common.wechat.errors import (
    WeChatError,
    WeChatInvalidToken,
    WeChatQuotaExceeded,
    WeChatRejected,
    WeChatTransient,
    WeChatUncertain,
    WeChatUserUnreachable,
)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
QUOTA_ERRORS = frozenset({45009, 45011, 45047})
UNREACHABLE_ERRORS = frozenset({43004, 43101})
TRANSIENT_ERRORS = frozenset({-1})
WECHAT_ORIGIN = "https://api.weixin.qq.com/"


def error_for(errcode: int | None, errmsg: str = "") -> WeChatError:
    """The typed error for a WeChat errcode (None: HTTP failure or time-out)."""
    if errcode is None or errcode in TRANSIENT_ERRORS:
        return WeChatTransient(errcode, errmsg)
    if errcode in QUOTA_ERRORS:
        return WeChatQuotaExceeded(errcode, errmsg)
    if errcode in UNREACHABLE_ERRORS:
        return WeChatUserUnreachable(errcode, errmsg)
    if errcode in TOKEN_ERRORS:
        return WeChatInvalidToken(errcode, errmsg)
    return WeChatRejected(errcode, errmsg)


@build_once
def _state_model():
    """PynamoDB model of the wechat-state items this module writes (token, lease), built
    on first use rather than at import."""
    from pynamodb.attributes import UnicodeAttribute

    from functions.common.dynamo import Model, TTLAttribute, table_meta

    class TokenState(Model):
        Meta = table_meta("wechat_state")
        pk = UnicodeAttribute(hash_key=True)
        value = UnicodeAttribute(null=True)
        owner = UnicodeAttribute(null=True)
        expires_at = TTLAttribute()

    return TokenState


class DynamoSessionStorage(SessionStorage):
    """wechatpy session storage in the wechat-state table.

    Items: `pk` (the key), `value`, `expires_at` (epoch seconds, also the table's TTL).
    Expiry is checked on every read (TTL deletion lags), with `margin_s` to spare so a
    token is never used in its last minute.
    """

    def __init__(self, margin_s: int = 60):
        self.margin_s = margin_s

    @property
    def model(self):
        return _state_model()

    def get(self, key: str, default: Any = None) -> Any:
        try:
            item = self.model.get(key, consistent_read=True)
        except self.model.DoesNotExist:
            return default
        if item.value is None or item.expires_at <= clock.epoch() + self.margin_s:
            return default
        return item.value

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        if value is None:
            return
        self.model(key, value=str(value), expires_at=clock.epoch() + int(ttl or 7200)).save()

    def delete(self, key: str) -> None:
        self.model(key).delete()

    def delete_if(self, key: str, value: str) -> bool:
        """Delete `key` only while it still holds `value`; True when this call deleted it."""
        return self.model(key).delete_if(self.model.value == value)

    def acquire(self, key: str, owner: str, ttl_s: int) -> bool:
        """Take the lease `key` for `ttl_s` seconds unless someone else holds a live one."""
        model = self.model
        now = clock.epoch()
        return model(key, owner=owner, expires_at=now + ttl_s).save_if(model.pk.does_not_exist()
                                                                       | (model.expires_at < now))

    def release(self, key: str, owner: str) -> None:
        self.model(key).delete_if(self.model.owner == owner)  # False: the lease is someone else's now



# APIs whose repetition the customer would see; WeChat offers no idempotency key for them.
MESSAGE_SENDS = ("message/template/send", "message/custom/send")


def _answer_lost(error: Exception) -> bool:
    """The request left but its answer did not come back in time (as opposed to a refused
    or timed-out connection, where nothing reached WeChat)."""
    import requests
    from urllib3.exceptions import ReadTimeoutError

    if isinstance(error, requests.ReadTimeout):
        return True
    return isinstance(error, requests.ConnectionError) and bool(error.args) and isinstance(
        error.args[0], ReadTimeoutError)


class BankWeChatClient(WeChatClient):
    """WeChatClient with a configurable base, a shared stable token and typed errors."""

    # -1 is retried this many times, sleeping backoff_s * 2**n (+ jitter) in between.
    max_transient_retries = 2
    backoff_s = 0.2
    # One refresher at a time: the lease lives this long; waiters re-read until then.
    lease_s = 10
    lease_poll_s = 0.05
    # A token read from the shared store is kept in memory this long. The store hands out
    # only tokens with more than a minute to live, and a token error drops it at once.
    token_memory_s = 30.0

    def __init__(self, appid: str, secret: str, api_base: str, session: SessionStorage | None = None,
                 timeout: float = 5.0):
        import requests

        super().__init__(appid, secret, session=session or DynamoSessionStorage(), timeout=timeout,
                         auto_retry=False)
        self.http = requests.Session()
        self.api_root = api_base.rstrip("/") + "/"
        self.API_BASE_URL = self.api_root + "cgi-bin/"
        self._refresh_lock = threading.Lock()
        self._remembered: tuple[str | None, float] = (None, 0.0)

    @property
    def access_token_key(self) -> str:
        return f"token#{self.appid}"

    @property
    def lease_key(self) -> str:
        return f"lease#token#{self.appid}"

    # -- token -------------------------------------------------------------------------

    @property
    def access_token(self) -> str:
        """The shared token; from memory while it is fresh, so a send costs no read."""
        token, until = self._remembered
        if token and clock.epoch() < until:
            return token
        token = self.session.get(self.access_token_key) or self._refresh(force=False)
        self._remembered = (token, clock.epoch() + self.token_memory_s)
        return token

    def fetch_access_token(self, force: bool = False) -> dict:
        """POST cgi-bin/stable_token and store the result (the caller holds the lease)."""
        result = self._send(
            "post",
            self.API_BASE_URL + "stable_token",
            json_body={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
                       "force_refresh": force},
        )
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = clock.epoch() + expires_in
        return result

    def _refresh(self, force: bool) -> str:
        """A valid token: someone else's fresh one if it appears, else one we fetch under
        the lease. Threads of this container queue on a lock first."""
        with self._refresh_lock:
            storage = self.session
            owner = uuid.uuid4().hex
            deadline = time.monotonic() + self.lease_s + 1
            while True:
                token = storage.get(self.access_token_key)
                if token:
                    return token
                shared = isinstance(storage, DynamoSessionStorage)
                if not shared or storage.acquire(self.lease_key, owner, self.lease_s):
                    break
                if time.monotonic() > deadline:
                    raise WeChatTransient(None, "timed out waiting for the token refresher")
                time.sleep(self.lease_poll_s)
            try:
                token = storage.get(self.access_token_key)
                if token:  # refreshed by someone else between our read and the lease
                    return token
                return self.fetch_access_token(force=force)["access_token"]
            finally:
                if isinstance(storage, DynamoSessionStorage):
                    storage.release(self.lease_key, owner)

    def _drop_token(self, token: str) -> bool:
        self._remembered = (None, 0.0)
        storage = self.session
        if isinstance(storage, DynamoSessionStorage):
            return storage.delete_if(self.access_token_key, token)
        if storage.get(self.access_token_key) == token:
            storage.delete(self.access_token_key)
            return True
        return False

    # -- transport ---------------------------------------------------------------------

    def _send(self, method: str, url: str, params: dict | None = None, json_body: Any = None) -> dict:
        """One HTTP call with the timeout; -1 and transport failures retried with backoff,
        except a message send whose answer timed out: it may have been delivered, so it
        raises WeChatUncertain rather than risk a second message on the customer's phone."""
        import requests

        attempt = 0
        while True:
            try:
                data = None
                headers = None
                if json_body is not None:
                    import json

                    data = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
                    headers = {"Content-Type": "application/json; charset=utf-8"}
                res = self.http.request(method=method, url=url, params=params, data=data, headers=headers,
                                         timeout=self.timeout)
                if res.status_code >= 500:
                    raise WeChatTransient(None, f"HTTP {res.status_code}")
                if res.status_code >= 400:
                    raise WeChatRejected(None, f"HTTP {res.status_code}")
                try:
                    result = res.json()
                except ValueError:
                    raise WeChatTransient(None, "response is not JSON") from None
                errcode = int(result.get("errcode", 0) or 0) if isinstance(result, dict) else 0
                if errcode:
                    raise error_for(errcode, str(result.get("errmsg", "")))
                return result
            except requests.RequestException as error:
                if _answer_lost(error) and url.split("?", 1)[0].endswith(MESSAGE_SENDS):
                    raise WeChatUncertain(None, type(error).__name__) from error
                failure: WeChatError = WeChatTransient(None, type(error).__name__)
                failure.__cause__ = error
            except WeChatTransient as error:
                failure = error
            if attempt >= self.max_transient_retries:
                raise failure
            time.sleep(self.backoff_s * (2**attempt) * (1 + random.random() / 2))
            attempt += 1

    def get(self, url, **kwargs):
        """wechatpy's API classes call `get` and `post`: both go through `call`."""
        return self.call("get", url, **kwargs)

    def post(self, url, **kwargs):
        return self.call("post", url, **kwargs)

    def call(self, method, url_or_endpoint, **kwargs):
        """Every API call lands here: add the token, send, and on a token error drop the
        token (if still ours), refresh once and retry once."""
        base = kwargs.pop("api_base_url", self.API_BASE_URL)
        if base.startswith(WECHAT_ORIGIN):  # wechatpy APIs with their own base follow ours
            base = self.api_root + base[len(WECHAT_ORIGIN):]
        url = url_or_endpoint if url_or_endpoint.startswith(("http://", "https://")) else base + url_or_endpoint
        processor = kwargs.pop("result_processor", None)
        params = dict(kwargs.get("params") or {})
        body = kwargs.get("data")
        if isinstance(body, (bytes, str)):
            import json

            body = json.loads(body)
        given_token = params.get("access_token")
        for attempt in (1, 2):
            token = given_token or self.access_token
            try:
                result = self._send(method, url, params={**params, "access_token": token}, json_body=body)
                return processor(result) if processor else result
            except WeChatInvalidToken:
                if attempt == 2 or given_token:
                    raise
                dropped = self._drop_token(token)
                self._refresh(force=dropped)
        raise AssertionError("unreachable")

    # -- what the functions use --------------------------------------------------------

    def send_template(self, openid: str, template_id: str, data: dict[str, str], url: str | None = None) -> str:
        """Send a template message; returns WeChat's msgid."""
        payload = {key: {"value": value} for key, value in data.items()}
        result = self.message.send_template(openid, template_id, payload, url=url)
        return str(result["msgid"])

    def send_text(self, openid: str, text: str) -> None:
        """A customer-service text message (only within 48 h of the user's last message)."""
        self.message.send_text(openid, text)

    def oauth_openid(self, code: str) -> str:
        """The openid behind an OAuth2 code (snsapi_base); codes are single use."""
        result = self._send(
            "get",
            self.api_root + "sns/oauth2/access_token",
            params={"appid": self.appid, "secret": self.secret, "code": code, "grant_type": "authorization_code"},
        )
        return str(result["openid"])

    def create_menu(self, menu: dict) -> None:
        self.post("menu/create", data=menu)

    def get_menu(self) -> dict | None:
        """The current menu, or None when the account has none (46003)."""
        try:
            return self.get("menu/get")
        except WeChatRejected as error:
            if error.errcode == 46003:
                return None
            raise


@lru_cache(maxsize=4)
def _client(appid: str, api_base: str, secret: str) -> BankWeChatClient:
    return BankWeChatClient(appid, secret, api_base)


def get_client() -> BankWeChatClient:
    """The container's client (one per app id, API base and secret)."""
    s = config.settings()
    return _client(s.wechat_app_id, s.wechat_api_base, config.secret("WECHAT_APP_SECRET"))

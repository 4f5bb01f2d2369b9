"""SMS, through the provider the stage names (setting SMS_PROVIDER).

SNS sends no SMS in the China regions, so a stage there sends through a Chinese provider:

- `sns`: Amazon SNS (global regions; the local stack's moto records what was sent).
- `aliyun`: Alibaba Cloud SMS, its documented HTTP API (SendSms, version 2017-05-25) signed
  with its signature method V3 (ACS3-HMAC-SHA256). Its Python SDK is not used: it brings
  aiohttp, apscheduler and more (about 19 MB beyond the layer) and takes about 0.7 s to
  import, for one signed POST (docs/runbook.md).
- `tencent`: Tencent Cloud SMS through its SDK (tencentcloud-sdk-python-sms, SendSms of
  2021-01-11), imported only when a stage sends through it.

The Chinese providers send only templates approved beforehand, with a registered signature:
a message is a template key of notify's (`otp`, `card_transaction`...) with its variables;
each key's template code is configuration (SMS_TEMPLATES, `key=code,...`), and so is the
signature (NOTIFY_SMS_SIGN). SNS takes the whole text.

A send that fails raises `SmsRetry` (the provider or the network failed, or this send may
succeed later: the caller tries again, and the event ends in the dead-letter queue if it
never does) or `SmsRefused` (this message to this number will never be sent: a wrong or
blocked number, a number over its daily limit). Phone numbers and texts are never logged.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote, urlsplit

from functions.common import aws, clock, config

TIMEOUT_S = 10


@dataclass(frozen=True)
class Sms:
    template: str  # notify's key: "otp", or a template message's key
    params: dict[str, str]  # the template's variables, in the template's order
    text: str  # the whole text, signature included (for SNS)


class SmsRetry(Exception):
    """Not sent now; may be sent later."""


class SmsRefused(Exception):
    """Never to be sent to this number (the provider's code says why)."""


class Sender(Protocol):
    def send(self, phone: str, sms: Sms) -> str:
        """Send to a mainland mobile number (11 digits); returns the provider's message id."""
        ...


def send(phone: str, sms: Sms) -> str:
    """One SMS through the stage's provider."""
    return sender(config.settings().sms_provider).send(phone, sms)


def sender(provider: str) -> Sender:
    """The provider's sender, built for this send from the settings (cheap once imported)."""
    senders: dict[str, Callable[[], Sender]] = {"sns": SnsSender, "aliyun": AliyunSender, "tencent": TencentSender}
    if provider not in senders:
        raise ValueError(f"unknown SMS provider {provider!r} (sns, aliyun or tencent)")
    return senders[provider]()


def _e164(phone: str) -> str:
    return "+86" + phone[-11:]


def _template_code(sms: Sms) -> str:
    code = config.settings().sms_templates.get(sms.template)
    if not code:
        raise SmsRetry(f"no SMS template configured for {sms.template}")
    return code


def _sign_name() -> str:
    """The signature as the providers take it: without the brackets the text shows."""
    return config.settings().notify_sms_sign.strip("【】[] ")


# ----- Amazon SNS ---------------------------------------------------------------------------

SNS_REFUSED = frozenset({"InvalidParameter", "InvalidParameterValue"})


class SnsSender:
    def send(self, phone: str, sms: Sms) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return aws.client("sns").publish(
                PhoneNumber=_e164(phone),
                Message=sms.text,
                MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
            )["MessageId"]
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            raise (SmsRefused if code in SNS_REFUSED else SmsRetry)(f"sns: {code}") from None
        except BotoCoreError as error:
            raise SmsRetry(f"sns: {type(error).__name__}") from None


# ----- Alibaba Cloud (HTTP API, signature V3) -----------------------------------------------

ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com"
ALIYUN_VERSION = "2017-05-25"
ALIYUN_ALGORITHM = "ACS3-HMAC-SHA256"
# The number itself is at fault, or has had all it may have today: sending again will not help.
ALIYUN_REFUSED = frozenset({
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.DAY_LIMIT_CONTROL", "isv.PARAM_LENGTH_LIMIT", "isv.INVALID_PARAMETERS",
})


def _percent(value: str) -> str:
    """RFC 3986 encoding, as signature V3 canonicalizes (space as %20, `~` kept)."""
    return quote(value, safe="-_.~")


def aliyun_signature(secret: str, method: str, host: str, query: dict[str, str],
                     headers: dict[str, str], body: bytes) -> tuple[str, str]:
    """(signed headers, signature) of a request, as Alibaba Cloud's signature method V3
    defines them: a canonical request (method, path `/`, the sorted encoded query, the host
    and x-acs-* headers, their names, the body's SHA-256), hashed, then HMAC-SHA256 with the
    AccessKey secret."""
    signed = {k.lower(): v.strip() for k, v in {**headers, "host": host}.items()
              if k.lower() in ("host", "content-type") or k.lower().startswith("x-acs-")}
    names = sorted(signed)
    canonical = "\n".join((
        method, "/",
        "&".join(f"{_percent(k)}={_percent(v)}" for k, v in sorted(query.items())),
        "".join(f"{name}:{signed[name]}\n" for name in names),
        ";".join(names),
        hashlib.sha256(body).hexdigest(),
    ))
    to_sign = f"{ALIYUN_ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return ";".join(names), hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


class AliyunSender:
    def __init__(self) -> None:
        self.endpoint = config.settings().sms_endpoint or ALIYUN_ENDPOINT
        if urlsplit(self.endpoint).scheme not in ("https", "http"):
            raise ValueError(f"SMS_ENDPOINT must be an http(s) URL, not {self.endpoint!r}")

    def send(self, phone: str, sms: Sms) -> str:
        query = {"PhoneNumbers": phone[-11:], "SignName": _sign_name(), "TemplateCode": _template_code(sms),
                 "TemplateParam": json.dumps(sms.params, ensure_ascii=False, separators=(",", ":"))}
        answer = self._call("SendSms", query)
        code = str(answer.get("Code") or "")
        if code == "OK":
            return str(answer.get("BizId") or answer.get("RequestId") or "")
        raise (SmsRefused if code in ALIYUN_REFUSED else SmsRetry)(f"aliyun: {code}")

    def _call(self, action: str, query: dict[str, str]) -> dict:
        import requests  # in the layer already (wechatpy's, Tencent's SDK's)

        key_id, _, key_secret = config.secret("ALIYUN_SMS_ACCESS_KEY").partition(":")
        host = urlsplit(self.endpoint).netloc
        body = b""
        headers = {
            "content-type": "application/x-www-form-urlencoded",  # signed, as V3 wants when present
            "x-acs-action": action,
            "x-acs-version": ALIYUN_VERSION,
            "x-acs-date": clock.iso(datetime.now(UTC)),  # the provider signs real time, not the settable clock
            "x-acs-signature-nonce": secrets.token_hex(16),
            "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        }
        signed, signature = aliyun_signature(key_secret, "POST", host, query, headers, body)
        headers["Authorization"] = (f"{ALIYUN_ALGORITHM} Credential={key_id},SignedHeaders={signed},"
                                    f"Signature={signature}")
        url = f"{self.endpoint.rstrip('/')}/?" + "&".join(f"{_percent(k)}={_percent(v)}" for k, v in query.items())
        try:
            res = requests.post(url, data=body, headers=headers, timeout=TIMEOUT_S)
        except requests.RequestException as error:
            raise SmsRetry(f"aliyun: {type(error).__name__}") from None
        try:
            answer = res.json()
        except ValueError:
            answer = {}
        if res.status_code != 200:  # the gateway's refusals (signature, throttling), 4xx/5xx JSON
            raise SmsRetry(f"aliyun: HTTP {res.status_code} {answer.get('Code', '')}".rstrip())
        return answer


# ----- Tencent Cloud (SDK) ------------------------------------------------------------------

TENCENT_ENDPOINT = "sms.tencentcloudapi.com"
TENCENT_REFUSED = frozenset({
    "InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.PhoneNumberInBlacklist",
    "FailedOperation.PhoneNumberOnBlacklist", "LimitExceeded.PhoneNumberDailyLimit",
    "InvalidParameterValue.TemplateParameterFormatError", "InvalidParameterValue.TemplateParameterLengthLimit",
})


class TencentSender:
    def __init__(self) -> None:
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        settings = config.settings()
        endpoint = urlsplit(settings.sms_endpoint if "//" in settings.sms_endpoint else f"//{settings.sms_endpoint}")
        http = HttpProfile(protocol=endpoint.scheme or "https", endpoint=endpoint.netloc or TENCENT_ENDPOINT,
                           reqTimeout=TIMEOUT_S)
        secret_id, _, secret_key = config.secret("TENCENT_SMS_SECRET").partition(":")
        self.client = sms_client.SmsClient(credential.Credential(secret_id, secret_key), settings.sms_region,
                                           ClientProfile(httpProfile=http))
        self.app_id = settings.sms_app_id

    def send(self, phone: str, sms: Sms) -> str:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
        from tencentcloud.sms.v20210111 import models

        request = models.SendSmsRequest()
        request.SmsSdkAppId = self.app_id
        request.SignName = _sign_name()
        request.TemplateId = _template_code(sms)
        request.TemplateParamSet = list(sms.params.values())
        request.PhoneNumberSet = [_e164(phone)]
        try:
            answer = self.client.SendSms(request)
        except TencentCloudSDKException as error:
            code = str(error.get_code() or "")
            raise (SmsRefused if code in TENCENT_REFUSED else SmsRetry)(f"tencent: {code}") from None
        status = (answer.SendStatusSet or [None])[0]
        if status is None:
            raise SmsRetry("tencent: no status")
        if status.Code == "Ok":
            return str(status.SerialNo)
        raise (SmsRefused if status.Code in TENCENT_REFUSED else SmsRetry)(f"tencent: {status.Code}")

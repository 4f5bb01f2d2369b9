"""functions/notify/sms.py: each provider's sender against a local HTTP server that records
the requests and answers as the provider documents (no real calls): what is sent, how it is
signed, and how each answer maps to sent / retry later / give up."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from functions.common import aws, events
from functions.notify import sms, store

PHONE = "13957400001"
OTP = sms.Sms("otp", {"code": "123456", "last4": "0001"}, "【甬城银行】验证码123456，5分钟内有效。")
ALIYUN_KEY = ("LTAI-test-id", "aliyun-test-secret")
TENCENT_KEY = ("AKID-test-id", "tencent-test-key")


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Provider:
    """A local HTTP server: records every request, answers the next canned answer."""

    answers: list[tuple[int, str, str]] = field(default_factory=list)  # (status, body, content type)

    requests: list[Recorded] = field(default_factory=list)
    url: str = ""

    def answer(self, status: int, body: object, content_type: str = "application/json") -> None:
        self.answers.append((status, body if isinstance(body, str) else json.dumps(body), content_type))

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.requests.append(Recorded(request.method, request.path, dict(parse_qsl(request.query_string.decode())),
                                      {k.lower(): v for k, v in request.headers.items()}, request.get_data()))
        status, body, ctype = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]  # the last one stays
        return Response(body, status=status, content_type=ctype)(environ, start_response)


@pytest.fixture
def provider() -> Iterator[Provider]:
    stub = Provider()
    server = make_server("127.0.0.1", 0, stub, threaded=True)
    stub.url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield stub
    server.shutdown()
    server.server_close()


@pytest.fixture
def configured(setting, provider):
    def configure(name: str, key_env: str, key: tuple[str, str]) -> None:
        setting("SMS_PROVIDER", name)
        setting("SMS_ENDPOINT", provider.url)
        setting("SMS_TEMPLATES", "otp=SMS_0001, card_transaction=SMS_0002")
        setting("SMS_APP_ID", "1400000001")
        setting(key_env, ":".join(key))

    return configure


# ----- Alibaba Cloud -------------------------------------------------------------------------

def aliyun_expected_signature(recorded: Recorded, secret: str) -> str:
    """Signature method V3 as Alibaba Cloud's documentation spells it, from the request as
    it arrived."""
    def enc(text: str) -> str:
        return quote(text, safe="-_.~")

    names = sorted(n for n in recorded.headers if n in ("host", "content-type") or n.startswith("x-acs-"))
    canonical = "\n".join([
        recorded.method, recorded.path,
        "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(recorded.query.items())),
        "".join(f"{n}:{recorded.headers[n].strip()}\n" for n in names), ";".join(names),
        hashlib.sha256(recorded.body).hexdigest()])
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def test_aliyun_sends_the_template_signed_with_signature_v3(configured, provider):
    configured("aliyun", "ALIYUN_SMS_ACCESS_KEY", ALIYUN_KEY)
    provider.answer(200, {"RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990", "Code": "OK", "Message": "OK",
                          "BizId": "900619746936498440^0"})
    assert sms.send(PHONE, OTP) == "900619746936498440^0"
    sent = provider.requests[0]
    assert (sent.method, sent.path) == ("POST", "/")
    assert sent.query == {"PhoneNumbers": PHONE, "SignName": "甬城银行", "TemplateCode": "SMS_0001",
                          "TemplateParam": '{"code":"123456","last4":"0001"}'}
    assert sent.headers["x-acs-action"] == "SendSms" and sent.headers["x-acs-version"] == "2017-05-25"
    assert sent.headers["x-acs-content-sha256"] == hashlib.sha256(b"").hexdigest()
    auth = sent.headers["authorization"]
    assert auth.startswith(f"ACS3-HMAC-SHA256 Credential={ALIYUN_KEY[0]},SignedHeaders=content-type;host;x-acs-action;")
    assert auth.endswith(f",Signature={aliyun_expected_signature(sent, ALIYUN_KEY[1])}")
    assert ALIYUN_KEY[1] not in json.dumps(sent.__dict__, default=str)  # the secret never travels


@pytest.mark.parametrize(("status", "answer", "outcome"), [
    (200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}, sms.SmsRefused),
    (200, {"Code": "isv.DAY_LIMIT_CONTROL", "Message": "触发日发送限额"}, sms.SmsRefused),
    (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"}, sms.SmsRetry),
    (200, {"Code": "isv.AMOUNT_NOT_ENOUGH", "Message": "账户余额不足"}, sms.SmsRetry),
    (200, {"Code": "isp.SYSTEM_ERROR", "Message": "系统错误"}, sms.SmsRetry),
    (400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}, sms.SmsRetry),
    (503, "Service Unavailable", sms.SmsRetry),
])
def test_aliyun_answers_map_to_retry_or_give_up(configured, provider, status, answer, outcome):
    configured("aliyun", "ALIYUN_SMS_ACCESS_KEY", ALIYUN_KEY)
    provider.answer(status, {"RequestId": "r1", **answer} if isinstance(answer, dict) else answer,
                    "application/json" if isinstance(answer, dict) else "text/plain")
    with pytest.raises(outcome) as raised:
        sms.send(PHONE, OTP)
    assert PHONE not in str(raised.value)


def test_a_provider_that_does_not_answer_is_tried_again_later(configured, setting):
    configured("aliyun", "ALIYUN_SMS_ACCESS_KEY", ALIYUN_KEY)
    setting("SMS_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(sms.SmsRetry):
        sms.send(PHONE, OTP)


def test_a_template_without_a_code_is_not_sent(configured, provider):
    configured("aliyun", "ALIYUN_SMS_ACCESS_KEY", ALIYUN_KEY)
    with pytest.raises(sms.SmsRetry, match="no SMS template configured for bill_reminder"):
        sms.send(PHONE, sms.Sms("bill_reminder", {}, "text"))
    assert provider.requests == []


# ----- Tencent Cloud -------------------------------------------------------------------------

def tencent_expected_signature(recorded: Recorded, secret_key: str) -> str:
    """TC3-HMAC-SHA256 as Tencent Cloud's documentation spells it, from the request as it
    arrived."""
    timestamp = recorded.headers["x-tc-timestamp"]
    date = datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(["POST", "/", "", f"content-type:{recorded.headers['content-type']}\n"
                           f"host:{recorded.headers['host']}\n", "content-type;host",
                           hashlib.sha256(recorded.body).hexdigest()])
    scope = f"{date}/sms/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = ("TC3" + secret_key).encode()
    for part in (date, "sms", "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _tencent_status(code: str) -> dict:
    return {"Response": {"SendStatusSet": [{"SerialNo": "5000:1045710669157053657849499619",
                                            "PhoneNumber": "+86" + PHONE, "Fee": 1, "SessionContext": "",
                                            "Code": code, "Message": "send success" if code == "Ok" else code,
                                            "IsoCode": "CN"}],
                         "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279"}}


def test_tencent_sends_the_template_through_its_sdk_signed_with_tc3(configured, provider):
    configured("tencent", "TENCENT_SMS_SECRET", TENCENT_KEY)
    provider.answer(200, _tencent_status("Ok"))
    assert sms.send(PHONE, OTP) == "5000:1045710669157053657849499619"
    sent = provider.requests[0]
    assert sent.headers["x-tc-action"] == "SendSms" and sent.headers["x-tc-version"] == "2021-01-11"
    assert sent.headers["x-tc-region"] == "ap-guangzhou"
    assert json.loads(sent.body) == {"PhoneNumberSet": ["+86" + PHONE], "SmsSdkAppId": "1400000001",
                                     "SignName": "甬城银行", "TemplateId": "SMS_0001",
                                     "TemplateParamSet": ["123456", "0001"]}
    auth = sent.headers["authorization"]
    assert auth.startswith(f"TC3-HMAC-SHA256 Credential={TENCENT_KEY[0]}/")
    assert auth.endswith(f"Signature={tencent_expected_signature(sent, TENCENT_KEY[1])}")


@pytest.mark.parametrize(("answer", "outcome"), [
    (_tencent_status("InvalidParameterValue.IncorrectPhoneNumber"), sms.SmsRefused),
    (_tencent_status("LimitExceeded.PhoneNumberDailyLimit"), sms.SmsRefused),
    (_tencent_status("FailedOperation.PhoneNumberInBlacklist"), sms.SmsRefused),
    (_tencent_status("LimitExceeded.PhoneNumberThirtySecondLimit"), sms.SmsRetry),
    (_tencent_status("FailedOperation.InsufficientBalanceInSmsPackage"), sms.SmsRetry),
    ({"Response": {"Error": {"Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "手机号格式错误"},
                   "RequestId": "r1"}}, sms.SmsRefused),
    ({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "签名错误"},
                   "RequestId": "r2"}}, sms.SmsRetry),
    ({"Response": {"Error": {"Code": "RequestLimitExceeded", "Message": "请求频率超限"}, "RequestId": "r3"}},
     sms.SmsRetry),
    ({"Response": {"Error": {"Code": "InternalError.Timeout", "Message": "超时"}, "RequestId": "r4"}}, sms.SmsRetry),
])
def test_tencent_answers_map_to_retry_or_give_up(configured, provider, answer, outcome):
    configured("tencent", "TENCENT_SMS_SECRET", TENCENT_KEY)
    provider.answer(200, answer)
    with pytest.raises(outcome) as raised:
        sms.send(PHONE, OTP)
    assert PHONE not in str(raised.value)


def test_tencent_outage_is_tried_again_later(configured, provider):
    configured("tencent", "TENCENT_SMS_SECRET", TENCENT_KEY)
    provider.answer(502, "Bad Gateway", "text/html")
    with pytest.raises(sms.SmsRetry):
        sms.send(PHONE, OTP)


# ----- Amazon SNS ----------------------------------------------------------------------------

SNS_OK = """<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>
<MessageId>567910cd-659e-55d4-8ccb-5aaf14679dc0</MessageId></PublishResult>
<ResponseMetadata><RequestId>d74b8436-ae13-5ab4-a9ff-ce54dfea72a0</RequestId></ResponseMetadata></PublishResponse>"""


def _sns_error(code: str) -> str:
    return (f'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{code}</Message></Error><RequestId>r1</RequestId></ErrorResponse>")


@pytest.fixture
def sns_at(monkeypatch, provider, setting):
    setting("SMS_PROVIDER", "sns")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", provider.url)
    aws.reset()
    yield provider
    monkeypatch.delenv("AWS_ENDPOINT_URL_SNS")
    aws.reset()


def test_sns_publishes_the_whole_text_as_a_transactional_sms(sns_at):
    sns_at.answer(200, SNS_OK, "text/xml")
    assert sms.send(PHONE, OTP) == "567910cd-659e-55d4-8ccb-5aaf14679dc0"
    form = dict(parse_qsl(sns_at.requests[0].body.decode()))
    assert form["Action"] == "Publish" and form["PhoneNumber"] == "+86" + PHONE and form["Message"] == OTP.text
    assert form["MessageAttributes.entry.1.Value.StringValue"] == "Transactional"


@pytest.mark.parametrize(("status", "code", "outcome"), [
    (400, "InvalidParameter", sms.SmsRefused),
    (403, "AuthorizationError", sms.SmsRetry),
])
def test_sns_answers_map_to_retry_or_give_up(sns_at, status, code, outcome):
    sns_at.answer(status, _sns_error(code), "text/xml")
    with pytest.raises(outcome, match=code):
        sms.send(PHONE, OTP)


def test_an_unknown_provider_is_a_configuration_error(setting):
    setting("SMS_PROVIDER", "carrier-pigeon")
    with pytest.raises(ValueError, match="sns, aliyun or tencent"):
        sms.send(PHONE, OTP)


def test_the_sender_is_chosen_by_the_setting_alone():
    assert urlsplit(sms.ALIYUN_ENDPOINT).scheme == "https"
    assert {type(sms.sender("sns")).__name__} == {"SnsSender"}


# ----- through notify ------------------------------------------------------------------------

@pytest.fixture
def alert(configured, provider, fake_wechat_api, make_customer, frozen_clock):
    """A ¥500 card payment at 14:31 in Ningbo (a template message and an SMS), sent through
    Alibaba Cloud's stub; returns (event, customer)."""
    frozen_clock(datetime(2026, 3, 2, 6, 31, tzinfo=UTC))
    configured("aliyun", "ALIYUN_SMS_ACCESS_KEY", ALIYUN_KEY)
    customer = make_customer(openids=["o_sms_alert"])

    def publish():
        return events.publish("card_transaction", {
            "customer_id": customer.customer_id, "card_last4": customer.last4, "amount_fen": 50000,
            "currency": "CNY", "merchant": "银泰百货", "cross_border": False, "card_present": True,
            "txn_time": "2026-03-02T06:30:00Z"}, "core_banking"), customer

    return publish


def test_a_large_payment_is_texted_through_the_stages_provider(alert, provider, queue):
    provider.answer(200, {"RequestId": "r1", "Code": "OK", "Message": "OK", "BizId": "biz-1"})
    event, customer = alert()
    queue.drain()
    [sent] = provider.requests
    assert sent.query["PhoneNumbers"] == customer.phone and sent.query["TemplateCode"] == "SMS_0002"
    assert json.loads(sent.query["TemplateParam"]) == {
        "character_string1": f"····{customer.last4}", "time2": "2026年3月2日 14:30", "thing3": "银泰百货",
        "amount4": "¥500.00", "phrase5": "消费"}
    delivery = store.get_delivery(event["id"], "sms", customer.customer_id)
    assert (delivery.status, delivery.msgid) == ("sent", "sms:biz-1")


def test_a_number_the_provider_refuses_is_recorded_and_not_retried(alert, provider, queue):
    provider.answer(200, {"RequestId": "r1", "Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"})
    event, customer = alert()
    queue.drain()
    assert len(provider.requests) == 1 and queue.dead_letters() == []
    delivery = store.get_delivery(event["id"], "sms", customer.customer_id)
    assert delivery.status == "rejected" and "isv.MOBILE_NUMBER_ILLEGAL" in delivery.error


def test_a_provider_failure_is_retried_then_kept_with_its_reason(alert, provider, queue):
    provider.answer(200, {"RequestId": "r1", "Code": "isp.SYSTEM_ERROR", "Message": "系统错误"})
    event, customer = alert()
    queue.drain()
    assert len(provider.requests) > 1  # tried again
    [parked] = store.all_pending()  # kept for a later try (the pending schedule), not lost
    assert (parked.event["id"], parked.reason) == (event["id"], "retries")
    delivery = store.get_delivery(event["id"], "sms", customer.customer_id)
    assert delivery.status == "retry" and "isp.SYSTEM_ERROR" in delivery.error


@pytest.mark.parametrize(("answer", "status", "code"), [
    ({"Code": "isv.MOBILE_NUMBER_ILLEGAL"}, 400, "sms_refused"),
    ({"Code": "isp.SYSTEM_ERROR"}, 503, "unavailable"),
])
def test_a_one_time_code_the_provider_does_not_send_is_a_clear_error(configured, provider, make_customer,
                                                                      frozen_clock, answer, status, code):
    from chalice.test import Client

    from functions.notify import app as notify_app
    from tests.sessions import customer as customer_headers

    frozen_clock(datetime(2026, 3, 2, 4, 0, tzinfo=UTC))
    configured("aliyun", "ALIYUN_SMS_ACCESS_KEY", ALIYUN_KEY)
    provider.answer(200, {"RequestId": "r1", **answer})
    holder = make_customer()
    with Client(notify_app.app) as client:
        res = client.http.post("/notify/api/otp", headers=customer_headers("o_sms_otp"),
                               body=json.dumps({"card_number": holder.card_number, "phone": holder.phone}))
    body = json.loads(res.body)
    assert (res.status_code, body["code"]) == (status, code) and body["message"]
    assert provider.requests[0].query["TemplateCode"] == "SMS_0001"

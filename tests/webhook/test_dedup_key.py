"""De-duplication keys stay within DynamoDB's key size whatever WeChat (or an attacker with
the token) puts in the fields, and differ when the messages differ."""
from wechatpy import parse_message

from functions.common.wechat import protocol


def _event(sender: str, msg_id: str = "") -> str:
    extra = f"<MsgID>{msg_id}</MsgID><Status><![CDATA[success]]></Status>" if msg_id else ""
    event = "TEMPLATESENDJOBFINISH" if msg_id else "CLICK"
    return (f"<xml><ToUserName>gh_1</ToUserName><FromUserName><![CDATA[{sender}]]></FromUserName>"
            f"<CreateTime>1764300000</CreateTime><MsgType>event</MsgType><Event>{event}</Event>"
            f"<EventKey>BILLS</EventKey>{extra}</xml>")


def test_long_keys_are_hashed_and_stay_distinct():
    a = protocol.dedup_key(parse_message(_event("o" * 5000)))
    b = protocol.dedup_key(parse_message(_event("o" * 4999 + "x")))
    assert a.startswith("sha256:") and len(a) < 100
    assert a != b
    assert a == protocol.dedup_key(parse_message(_event("o" * 5000)))


def test_ordinary_keys_are_readable():
    assert protocol.dedup_key(parse_message(_event("o_user"))) == "evt:o_user:1764300000:CLICK:BILLS"


def test_delivery_reports_in_one_second_have_their_own_keys():
    first = protocol.dedup_key(parse_message(_event("o_user", "1001")))
    second = protocol.dedup_key(parse_message(_event("o_user", "1002")))
    assert first != second


def test_intents_are_invoked_without_retries(aws):
    from functions.common import aws as common_aws

    lam = common_aws.client("lambda", read_timeout=4.0, max_attempts=1)
    assert lam.meta.config.retries["total_max_attempts"] == 1

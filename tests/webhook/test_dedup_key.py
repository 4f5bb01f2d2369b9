"""De-duplication keys stay within DynamoDB's key size whatever WeChat (or an attacker with
the token) puts in the fields, differ when the messages differ, and always name the sender."""
from functions.common.wechat import protocol
from tests.webhook import wechat_side as wx


def _event(sender: str, msg_id: str = "") -> protocol.Inbound:
    fields = {"ToUserName": "gh_1", "FromUserName": sender, "CreateTime": "1764300000", "MsgType": "event"}
    if msg_id:
        fields.update(Event="TEMPLATESENDJOBFINISH", MsgID=msg_id, Status="success")
    else:
        fields.update(Event="CLICK", EventKey="BILLS")
    return wx.inbound(fields)


def _text(sender: str, msg_id: str) -> protocol.Inbound:
    return wx.inbound({"ToUserName": "gh_1", "FromUserName": sender, "CreateTime": "1764300000", "MsgType": "text",
                       "Content": "账单", "MsgId": msg_id})


def test_long_keys_are_hashed_and_stay_distinct():
    a = protocol.dedup_key(_event("o" * 5000))
    b = protocol.dedup_key(_event("o" * 4999 + "x"))
    assert a.startswith("sha256:") and len(a) < 100
    assert a != b
    assert a == protocol.dedup_key(_event("o" * 5000))


def test_ordinary_keys_are_readable():
    assert protocol.dedup_key(_event("o_user")) == "evt:o_user:1764300000:CLICK:BILLS"
    assert protocol.dedup_key(_text("o_user", "42")) == "msg:o_user:42"


def test_two_senders_with_one_msg_id_have_their_own_keys():
    assert protocol.dedup_key(_text("o_alice", "42")) != protocol.dedup_key(_text("o_mallory", "42"))


def test_delivery_reports_in_one_second_have_their_own_keys():
    first = protocol.dedup_key(_event("o_user", "1001"))
    second = protocol.dedup_key(_event("o_user", "1002"))
    assert first != second


def test_intents_are_invoked_without_retries(aws):
    from functions.common import aws as common_aws

    lam = common_aws.client("lambda", read_timeout=4.0, max_attempts=1)
    assert lam.meta.config.retries["total_max_attempts"] == 1

import json

import pytest

from functions.common import events, pii
from tests.aws_clients import clients


def test_seal_round_trip_and_context_binding(aws):
    blob = pii.seal({"name": "张三", "phone": "13812345678"}, {"record": "a1"})
    assert "13812345678" not in blob and "张三" not in blob
    assert pii.unseal(blob, {"record": "a1"}) == {"name": "张三", "phone": "13812345678"}
    with pytest.raises(Exception):
        pii.unseal(blob, {"record": "a2"})


def test_masks():
    assert pii.mask_phone("13812345678") == "138****5678"
    assert pii.mask_id_number("330203199001011234") == "3302**********1234"
    assert pii.mask_name("张三丰") == "张**"
    assert pii.mask_card("6222021234567890") == "····7890"


def test_keyed_hash_separates_purposes(aws):
    assert pii.keyed_hash("13812345678", "phone") != pii.keyed_hash("13812345678", "id")
    assert pii.keyed_hash(" 33020319900101123x", "id") == pii.keyed_hash("33020319900101123X", "id")


def test_publish_puts_a_valid_event_on_the_queue(aws):
    event = events.publish("loan_status_changed", {"openid": "o1", "application_id": "a", "product": "p",
                                                   "status": "APPROVED", "reason": ""}, "loan_apply")
    url = aws["NotifyEventsQueue"]["Ref"]
    msgs = clients.client("sqs").receive_message(QueueUrl=url)["Messages"]
    assert json.loads(msgs[0]["Body"])["id"] == event["id"]


def test_invalid_events_are_refused():
    with pytest.raises(events.InvalidEvent):
        events.make("card_transaction", {"customer_id": "c"}, "core")
    with pytest.raises(events.InvalidEvent):
        events.validate({"v": 1, "id": "x", "type": "nope", "data": {}})

"""An alert event (staff_read_limit_exceeded) is logged as one structured `operator alert`
line that operators alarm on, and nothing else: no message, no SMS, no dead letter."""
from __future__ import annotations

import json


def test_an_alert_is_one_structured_log_line_and_nothing_is_sent(fake_wechat_api, queue, sms, capsys):
    from functions.common import events

    events.publish("staff_read_limit_exceeded", {
        "subject": "reviewer-1", "role": "loan_reviewer", "limit": 60, "window_start": "2026-03-15T02:00:00Z",
        "source": "loan_apply"}, "loan_apply", event_id="staff_read_limit_exceeded:reviewer-1:2026031502")
    queue.drain()
    assert queue.waiting() == 0 and queue.dead_letters() == []
    assert fake_wechat_api.sent() == [] and sms() == []
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [alert] = [line for line in lines if line.get("message") == "operator alert"]
    assert alert["level"] == "ERROR" and alert["alert"] == "staff_read_limit_exceeded"
    assert alert["subject"] == "reviewer-1" and alert["limit"] == 60
    assert alert["event_id"] == "staff_read_limit_exceeded:reviewer-1:2026031502"


def test_an_alert_missing_its_facts_is_dead_lettered_with_the_reason(queue):
    queue.send_raw(json.dumps({"v": 1, "id": "a1", "type": "staff_read_limit_exceeded", "source": "x",
                               "data": {"subject": "reviewer-1"}}))
    queue.drain()
    [parked] = queue.dead_letters()
    assert "staff_read_limit_exceeded: missing role" in parked["MessageAttributes"]["reason"]["StringValue"]

"""An alert event (staff_read_limit_exceeded) is logged as one structured `operator alert`
line that operators alarm on, and nothing else: no message, no SMS, no dead letter."""
from __future__ import annotations

import json
import logging


def test_an_alert_is_one_structured_log_line_and_nothing_is_sent(fake_wechat_api, queue, sms, caplog):
    from functions.common import events

    caplog.set_level(logging.INFO)
    events.publish("staff_read_limit_exceeded", {
        "subject": "reviewer-1", "role": "loan_reviewer", "limit": 60, "window_start": "2026-03-15T02:00:00Z",
        "source": "loan_apply"}, "loan_apply", event_id="staff_read_limit_exceeded:reviewer-1:2026031502")
    queue.drain()
    assert queue.waiting() == 0 and queue.dead_letters() == []
    assert fake_wechat_api.sent() == [] and sms() == []
    from functions.notify import delivery

    [alert] = [r for r in caplog.records if r.getMessage() == delivery.ALERT_LINE]
    assert alert.levelno == logging.ERROR and alert.alert == "staff_read_limit_exceeded"  # type: ignore[attr-defined]
    facts = alert.__dict__
    assert facts["subject"] == "reviewer-1" and facts["limit"] == 60
    assert facts["event_id"] == "staff_read_limit_exceeded:reviewer-1:2026031502"


def test_an_alert_missing_its_facts_is_dead_lettered_with_the_reason(queue):
    queue.send_raw(json.dumps({"v": 1, "id": "a1", "type": "staff_read_limit_exceeded", "source": "x",
                               "data": {"subject": "reviewer-1"}}))
    queue.drain()
    [parked] = queue.dead_letters()
    assert "staff_read_limit_exceeded: missing role" in parked["MessageAttributes"]["reason"]["StringValue"]

"""The in-process stack that other end-to-end tests use (`local_stack`, tests/e2e/conftest.py)."""
from __future__ import annotations

import json

import pytest
import requests

pytestmark = pytest.mark.e2e


def test_a_page_logs_in_through_the_fake_wechat_oauth(local_stack):
    """Page → WeChat's authorize URL (the fake) → /oauth/callback (webhook) → cookie → page."""
    pages = [r.path for r in __import__("infra.local.gateway", fromlist=["routes_from"]).routes_from(local_stack.config)
             if r.method == "GET" and r.path.startswith("/booking") and "{" not in r.path and "/api/" not in r.path]
    if not pages:
        pytest.skip("booking has no page yet")
    browser = requests.Session()
    res = browser.get(f"{local_stack.url}/booking/mine", timeout=20, allow_redirects=True)
    assert res.status_code == 200, res.text[:500]
    assert res.url.startswith(f"{local_stack.url}/booking/mine")
    assert "wxsession" in browser.cookies
    assert any(h.url.startswith(local_stack.environment["WECHAT_OPEN_BASE"]) for h in res.history)


def test_events_on_the_notify_queue_are_delivered(local_stack):
    """Something published on the notify queue is handed to its consumer and leaves the queue."""
    depths = {q["logical_id"]: q for q in local_stack.queue_depths()}
    if not depths["NotifyEventsQueue"]["consumers"]:
        pytest.skip("nothing consumes the notify queue yet")
    sqs = local_stack._session.client("sqs")
    sqs.send_message(QueueUrl=local_stack.environment["NOTIFY_QUEUE_URL"], MessageBody=json.dumps({"v": 999}))
    local_stack.drain_queues()
    depths = {q["logical_id"]: q for q in local_stack.queue_depths()}
    assert depths["NotifyEventsQueue"]["visible"] == 0 and depths["NotifyEventsQueue"]["in_flight"] == 0

"""A subset of the hostile corpus over real HTTP, through the local stack's API Gateway
emulation (including the 10 MB bodies): never a 5xx, nothing stored, still answering."""
from __future__ import annotations

import pytest
import requests

from tests.e2e.conftest import local_stack  # noqa: F401 - the stack fixture, reused
from tests.hardening import webhook_corpus as corpus
from tests.hardening.conftest import changes, record, snapshot
from tests.webhook import wechat_side as wx

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def subset() -> list[corpus.Case]:
    """Every oversized body, and the first three refused cases of every other class."""
    picked, seen = [], {}
    for case in corpus.corpus():
        if case.group == "size" or (case.expect == "refused" and seen.get(case.group, 0) < 3):
            picked.append(case)
            seen[case.group] = seen.get(case.group, 0) + 1
    return picked


def test_hostile_requests_over_http(local_stack):  # noqa: F811
    cases = subset()
    assert any(len(c.body) >= 10 * corpus.MB for c in cases)
    before = snapshot()
    statuses = []
    for case in cases:
        headers = {"Content-Type": case.content_type} if case.content_type else {}
        res = requests.post(local_stack.url + case.path, data=case.body, headers=headers, timeout=30)
        statuses.append(res.status_code)
        assert 400 <= res.status_code < 500, (case.group, case.label, res.status_code, res.text[:200])
    assert changes(before, snapshot()) == {}
    # still answering
    for mode in wx.MODES:
        path, body = wx.request(wx.msg("text", Content="附近网点"), mode)
        res = requests.post(local_stack.url + path, data=body, headers={"Content-Type": "text/xml"}, timeout=30)
        assert res.status_code == 200
        assert wx.read_reply(res.content, mode)["MsgType"] == "text"
    counts = ", ".join(f"{statuses.count(s)}×{s}" for s in sorted(set(statuses)))
    record("webhook_http", "Webhook over HTTP (local stack): a subset incl. two 10 MB bodies", len(cases),
           f"{counts}; no 5xx; nothing stored; genuine messages answered after")

"""POST /wechat under the hostile corpus (tests/hardening/webhook_corpus.py), through
Chalice's test client on moto: never a 5xx, nothing stored by a refused request, and the
webhook still answers a genuine message afterwards."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from functions.common import config
from tests.aws_clients import clients
from tests.hardening import webhook_corpus as corpus
from tests.hardening.conftest import changes, record, snapshot
from tests.webhook import wechat_side as wx

# What a message WeChat could send may leave behind: the de-duplication claim, and the
# user's last location (a day, for "nearby" questions).
MAY_STORE = ("wechat_state", "user_locations")


def _send(webhook, case: corpus.Case):
    headers = dict(case.headers)
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    return webhook.http.post(case.path, headers=headers, body=case.body)


def _table(logical: str) -> str:
    return config.settings().table(logical)


def test_the_corpus_is_large_and_covers_every_class():
    cases = corpus.corpus()
    groups = Counter(c.group for c in cases)
    assert len(cases) >= 200, len(cases)
    assert {"signature", "timestamp", "wrong_appid", "ciphertext", "padding", "xxe", "entity_expansion", "size",
            "encoding", "content_type", "message_fields"} <= set(groups)
    documented = set(wx.documented())
    covered = {c.label.split(" without ")[0] for c in cases if " without " in c.label}
    assert covered == documented  # every message type lost each required field


def test_hostile_corpus_never_fails_and_stores_nothing(webhook, invocations):
    cases = corpus.corpus()
    refused = [c for c in cases if c.expect == "refused"]
    either = [c for c in cases if c.expect == "either"]
    outcomes: dict[str, Counter] = defaultdict(Counter)
    failures: list[str] = []

    before = snapshot()
    for case in refused:
        res = _send(webhook, case)
        outcomes[case.group][res.status_code] += 1
        if not 400 <= res.status_code < 500:
            failures.append(f"{case.group}/{case.label}: {res.status_code} {res.body[:120]!r}")
    stored = changes(before, snapshot())
    assert not failures, "\n".join(failures)
    assert stored == {}, stored
    assert invocations.calls == []  # no refused request reached a feature

    before = snapshot()
    for case in either:
        res = _send(webhook, case)
        outcomes[case.group][res.status_code] += 1
        if res.status_code >= 500 or not (res.status_code < 300 or 400 <= res.status_code < 500):
            failures.append(f"{case.group}/{case.label}: {res.status_code} {res.body[:120]!r}")
        elif res.status_code == 200:
            mode = "safe" if b"encrypt_type=aes" in case.path.encode() else "plain"
            wx.read_reply(res.body, mode)  # `success` or a reply WeChat can read
    assert not failures, "\n".join(failures)
    stored = changes(before, snapshot())
    assert set(stored) <= {_table(t) for t in MAY_STORE}, sorted(stored)
    for item in map(json.loads, stored.get(_table("user_locations"), [])):
        assert -90 <= float(item["lat"]) <= 90 and -180 <= float(item["lng"]) <= 180, item

    # the webhook keeps answering: a genuine message after the corpus gets its reply
    invocations.calls.clear()
    for mode in wx.MODES:
        path, body = wx.request(wx.msg("text", Content="附近网点"), mode)
        res = webhook.http.post(path, headers={"Content-Type": "text/xml"}, body=body)
        assert res.status_code == 200
        assert wx.read_reply(res.body, mode)["MsgType"] == "text"
    assert invocations.keys() == ["branchLookupIntent"] * 3

    titles = {
        "signature": "Webhook: bad, missing and mismatched signatures",
        "timestamp": "Webhook: stale, future and malformed timestamps",
        "wrong_appid": "Webhook: wrong AppId inside the encrypted payload",
        "ciphertext": "Webhook: truncated, corrupted and non-base64 ciphertext",
        "padding": "Webhook: bad PKCS#7 padding and bad frame lengths",
        "xxe": "Webhook: XXE (external entities, DTDs, XInclude), plain and encrypted",
        "entity_expansion": "Webhook: entity expansion and deep nesting",
        "malformed_xml": "Webhook: malformed XML and non-XML bodies",
        "size": "Webhook: oversized bodies (64 KiB + 1 to 10 MB)",
        "encoding": "Webhook: non-UTF-8 bodies and payloads",
        "content_type": "Webhook: wrong content types",
        "message_fields": "Webhook: every message type with missing or absurd fields",
    }
    for group, counts in outcomes.items():
        statuses = ", ".join(f"{n}×{status}" for status, n in sorted(counts.items()))
        record(f"webhook_{group}", titles[group], sum(counts.values()), f"{statuses}; no 5xx; nothing stored")


def test_a_replayed_delivery_is_answered_once_and_refused_after_the_window(webhook, invocations, frozen_clock):
    """A captured request sent again inside the window is answered from the de-duplication
    record (the feature runs once); outside the window it is refused."""
    start = datetime.now(UTC).replace(microsecond=0)
    frozen_clock(start)
    sent = {}
    for mode in wx.MODES:
        sent[mode] = wx.request(wx.msg("text", Content="附近网点"), mode, timestamp=int(start.timestamp()))
    first = {mode: webhook.http.post(p, headers={"Content-Type": "text/xml"}, body=b) for mode, (p, b) in sent.items()}
    state = clients.resource("dynamodb").Table(_table("wechat_state"))
    claims = len(state.scan(ConsistentRead=True)["Items"])
    replays = 0
    for _ in range(3):
        for mode, (path, body) in sent.items():
            again = webhook.http.post(path, headers={"Content-Type": "text/xml"}, body=body)
            replays += 1
            assert again.status_code == 200
            assert wx.read_reply(again.body, mode)["Content"] == wx.read_reply(first[mode].body, mode)["Content"]
    assert invocations.keys() == ["branchLookupIntent"] * 3
    assert len(state.scan(ConsistentRead=True)["Items"]) == claims
    frozen_clock(start + timedelta(seconds=config.settings().timestamp_window_s + 1))
    for path, body in sent.values():
        replays += 1
        assert webhook.http.post(path, headers={"Content-Type": "text/xml"}, body=body).status_code == 403
    assert invocations.keys() == ["branchLookupIntent"] * 3
    record("webhook_replay", "Webhook: replayed deliveries (inside and outside the window)", replays,
           "inside: the first reply again, feature ran once; outside: 403")

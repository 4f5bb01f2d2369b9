"""docs/runbook.md names every alarm the stack defines: those written in infra/resources and
those infra/plugins/template-rules.js adds per function and per dead-letter queue."""
from __future__ import annotations

import re
from pathlib import Path

from infra.local import slsconfig

ROOT = Path(slsconfig.ROOT)
RUNBOOK = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
CONFIG = slsconfig.load("dev")
PLUGIN = (ROOT / "infra" / "plugins" / "template-rules.js").read_text(encoding="utf-8")


def headings() -> set[str]:
    return set(re.findall(r"^###\s+`([^`]+)`", RUNBOOK, re.MULTILINE))


def test_every_alarm_written_in_infra_has_a_section():
    alarms = set(CONFIG.resources_of_type("AWS::CloudWatch::Alarm"))
    assert alarms, "the stack defines no alarm of its own any more?"
    assert alarms - headings() == set()


def test_every_alarm_the_plugin_adds_per_function_has_a_section():
    suffixes = set(re.findall(r"resources\[`\$\{base\}(\w+Alarm)`\]", PLUGIN))
    assert suffixes, "template-rules.js no longer adds per-function alarms this way; update this test"
    assert {f"<Function>{suffix}" for suffix in suffixes} - headings() == set()


def test_every_dead_letter_queue_alarm_has_a_section():
    assert "resources[`${queueId}DepthAlarm`]" in PLUGIN
    queues = CONFIG.resources_of_type("AWS::SQS::Queue")
    dead_letter = {q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
                   for q in queues.values() if "RedrivePolicy" in q.get("Properties", {})}
    assert dead_letter
    assert {f"{queue}DepthAlarm" for queue in dead_letter} - headings() == set()


def test_the_runbook_covers_the_procedures():
    for section in ("Redriving the dead-letter queue", "WeChat access token problems", "WeChat IP whitelist and egress",
                    "Rotating secrets", "Restoring a table (point-in-time recovery)"):
        assert f"## {section}" in RUNBOOK

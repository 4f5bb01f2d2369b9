"""The local stack reads serverless.yml with a minimal reader of its own
(infra/local/slsconfig.py), so `make run` needs no Node; the deploy scripts and the packaging
tests take the deploy tool's own resolution (`osls print`, scripts/osls.py). The two must
agree on everything the local stack reads, for every stage."""
from __future__ import annotations

import pytest

from infra.local import slsconfig
from scripts import osls

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("package")]


def _as_read(function: slsconfig.Function) -> tuple:
    """A function as the local stack uses it; osls writes a schedule's one rate as a list."""
    events = []
    for event in function.events:
        schedule = event.get("schedule")
        if isinstance(schedule, dict) and isinstance(schedule.get("rate"), list):
            [rate] = schedule["rate"]
            event = {**event, "schedule": {**schedule, "rate": rate}}
        events.append(event)
    return function.handler, events, function.timeout, function.environment


def _without_role_names(resources: dict) -> dict:
    """The template plugin names each role when osls starts (infra/plugins/template-rules.js);
    the local stack has no roles to name."""
    out = {}
    for logical, resource in resources.items():
        if resource.get("Type") == "AWS::IAM::Role":
            properties = {k: v for k, v in resource["Properties"].items() if k != "RoleName"}
            resource = {**resource, "Properties": properties}
        out[logical] = resource
    return out


@pytest.mark.parametrize("stage", ["local", "dev", "prod"])
def test_the_local_reader_resolves_what_osls_print_resolves(stage):
    local, tool = slsconfig.load(stage), osls.resolved(stage)
    assert local.service == tool.service
    assert local.raw["provider"]["region"] == tool.raw["provider"]["region"]
    assert local.environment == tool.environment
    assert local.raw["custom"] == tool.raw["custom"]
    assert local.resources == _without_role_names(tool.resources)
    assert {k: _as_read(f) for k, f in local.functions.items()} == {k: _as_read(f) for k, f in tool.functions.items()}
    assert {local.function_name(k) for k in local.functions} == {f["name"] for f in tool.raw["functions"].values()}


def test_a_difference_would_be_seen():
    """The comparison above is not vacuous: osls resolves per stage, and stages differ."""
    assert osls.resolved("dev").environment["PUBLIC_BASE_URL"] != osls.resolved("prod").environment["PUBLIC_BASE_URL"]

"""The deploy workflow deploys a commit only after CI passed on that same commit, each stage
in a concurrency group of its own, in the region the stage's GitHub environment names; and
the stack itself has no default region."""
from __future__ import annotations

import re

import yaml

from scripts import osls

WORKFLOWS = osls.ROOT / ".github" / "workflows"


def _load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML reads the key `on` as True
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def test_deploys_start_from_a_green_ci_run_of_a_push_to_main_and_deploy_that_commit():
    ci, deploy = _load("ci.yml"), _load("deploy.yml")
    assert deploy["on"] == {"workflow_run": {"workflows": [ci["name"]], "types": ["completed"],
                                             "branches": ["main"]}}
    first = [job for job in deploy["jobs"].values() if "needs" not in job]
    assert len(first) == 1
    assert "github.event.workflow_run.conclusion == 'success'" in first[0]["if"]
    assert "github.event.workflow_run.event == 'push'" in first[0]["if"]
    for name, job in deploy["jobs"].items():
        checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout"))
        assert checkout["with"]["ref"] == "${{ env.SHA }}", name
        assert job["env"]["SHA"] == "${{ github.event.workflow_run.head_sha }}", name


def test_each_stage_deploys_in_its_own_concurrency_group():
    deploy = _load("deploy.yml")
    assert "concurrency" not in deploy, "a workflow-wide group queues dev behind prod's approval"
    groups = {name: job["concurrency"] for name, job in deploy["jobs"].items()}
    assert {name: g["group"] for name, g in groups.items()} == {"dev": "deploy-dev", "prod": "deploy-prod"}
    assert not any(g["cancel-in-progress"] for g in groups.values())
    assert deploy["jobs"]["prod"]["needs"] == "dev" and deploy["jobs"]["prod"]["environment"] == "prod"


def test_the_region_comes_from_the_stage_environment_and_nowhere_else():
    text = (WORKFLOWS / "deploy.yml").read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"\b(cn|us|eu|ap)-[a-z]+-\d\b", code.replace("e.g. cn-north-1", ""))
    steps = _load("deploy.yml")["jobs"]["dev"]["steps"]
    credentials = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials"))
    assert credentials["with"]["aws-region"] == "${{ vars.AWS_REGION }}"
    assert steps.index(next(s for s in steps if "REGION" in s.get("env", {}))) == 0
    assert "make deploy" in next(s["run"] for s in steps if "Deploy what changed" in s.get("name", ""))


def test_serverless_yml_has_no_default_region():
    """Only the local stack (moto) has a region of its own; AWS stages take the deploy's."""
    text = (osls.ROOT / "serverless.yml").read_text(encoding="utf-8")
    assert re.findall(r"^\s+region: (.+)$", text, re.MULTILINE) == ["${opt:region, env:AWS_REGION, param:region}"]
    stages = yaml.safe_load((osls.ROOT / "infra" / "stages.yml").read_text(encoding="utf-8"))
    assert [stage for stage, values in stages.items() if "region" in values] == ["local"]

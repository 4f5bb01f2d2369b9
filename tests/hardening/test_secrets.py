"""Keys and secrets: deployed stages read every secret from SSM (one SecureString per stage)
and personal-data keys from KMS; no secret value is written in serverless.yml, infra/ or any
tracked file; the local stack's published development secrets never reach a deployed
stage."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from functions.common import config
from infra.local import resources, slsconfig

ROOT = Path(__file__).resolve().parents[2]
# Shapes of real credentials, whatever the file.
CREDENTIAL_SHAPES = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key": re.compile(r"-----BEGIN (RSA |EC |OPENSSH |)PRIVATE KEY-----"),
    "secret assigned in YAML/env": re.compile(
        r"(?im)^\s*(WECHAT_TOKEN|WECHAT_ENCODING_AES_KEY|WECHAT_APP_SECRET|SESSION_SECRET|PII_HASH_KEY|STAFF_API_KEY|"
        r"aws_secret_access_key)\s*[:=]\s*['\"]?(?!\$\{)[^\s'\"#]{8,}"),
}
# Where the local stack's published development values may appear.
LOCAL_ONLY = ("infra/local/", "tests/", "docs/", "README.md", ".github/", "bench/")


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout  # noqa: S607
    return [f for f in out.splitlines() if (ROOT / f).is_file()]


def _local_secret_values() -> dict[str, str]:
    values = {**resources.LOCAL_WECHAT, **resources.LOCAL_SECRETS}
    return {k: v for k, v in values.items() if k in config.SECRET_NAMES}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_deployed_stages_take_secrets_from_ssm_and_keys_from_kms(stage):
    cfg = slsconfig.load(stage)
    environments = [cfg.environment] + [f.environment for f in cfg.functions.values() if hasattr(f, "environment")]
    for env in environments:
        assert not set(config.SECRET_NAMES) & set(env or {}), "a secret is configured as a plain variable"
    assert cfg.environment["WECHAT_SECRETS_PARAMETER"].startswith("/")
    assert cfg.environment["PII_KMS_KEY_ID"].startswith("alias/")
    text = str(cfg.resources)
    for name, value in _local_secret_values().items():
        assert value not in text, f"the local {name} is in the {stage} template"


def test_no_secret_in_tracked_files():
    files = tracked_files()
    assert "serverless.yml" in files and any(f.startswith("infra/") for f in files)
    local_values = _local_secret_values()
    findings = []
    for path in files:
        try:
            text = (ROOT / path).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for label, shape in CREDENTIAL_SHAPES.items():
            for match in shape.finditer(text):
                findings.append(f"{path}: {label}: {match.group(0)[:40]}")
        if not path.startswith(LOCAL_ONLY) and path != "infra/local/resources.py":
            for name, value in local_values.items():
                if value in text:
                    findings.append(f"{path}: the local {name}")
    assert not findings, "\n".join(findings)


def test_secrets_resolve_from_ssm_when_not_in_the_environment(aws, monkeypatch):
    """Outside the local stack the SecureString parameter is the source."""
    import json

    import boto3

    values = {name: f"ssm-{name.lower()}-value" for name in config.SECRET_NAMES}
    boto3.client("ssm").put_parameter(Name="/wechat-bank/test/wechat", Type="SecureString", Value=json.dumps(values))
    for name in config.SECRET_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STAGE", "dev")
    monkeypatch.setenv("WECHAT_SECRETS_PARAMETER", "/wechat-bank/test/wechat")
    config.reset()
    try:
        assert config.secrets() == values
    finally:
        config.reset()

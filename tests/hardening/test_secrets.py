"""Keys and secrets: deployed stages read every secret from SSM (one SecureString parameter
per secret) and personal-data keys from KMS; no secret value is written in serverless.yml,
infra/ or any tracked file; `make secrets` writes nothing unless every value is shaped as
the protocol requires and none is a value published with the code, so the local stack's
development secrets never reach a deployed stage."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from functions.common import config
from infra.local import resources
from scripts import osls, put_secrets
from tests.aws_clients import clients

ROOT = Path(__file__).resolve().parents[2]
# Shapes of real credentials, whatever the file.
CREDENTIAL_SHAPES = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key": re.compile(r"-----BEGIN (RSA |EC |OPENSSH |)PRIVATE KEY-----"),
    "secret assigned in YAML/env": re.compile(
        r"(?im)^\s*(WECHAT_TOKEN|WECHAT_ENCODING_AES_KEY|WECHAT_APP_SECRET|SESSION_SECRET|PII_HASH_KEY|"
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
    cfg = osls.resolved(stage)
    environments = [cfg.environment] + [f.environment for f in cfg.functions.values() if hasattr(f, "environment")]
    for env in environments:
        assert not set(config.SECRET_NAMES) & set(env or {}), "a secret is configured as a plain variable"
    assert cfg.environment["SECRETS_PATH"] == f"/wechat-bank/{stage}/secrets"
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


@pytest.fixture
def from_ssm(monkeypatch):
    """A deployed stage's view: no secret in the environment, SSM under the stage's path,
    a function that reads every secret."""
    for name in config.SECRET_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STAGE", "dev")
    monkeypatch.setenv("SECRETS_PATH", "/wechat-bank/dev/secrets")
    monkeypatch.setenv("SECRETS", " ".join(config.SECRET_NAMES))
    config.reset()
    yield "/wechat-bank/dev/secrets"
    config.reset()


def test_each_secret_resolves_from_its_own_parameter(aws, from_ssm):
    """Outside the local stack each secret is read from its own parameter, when needed."""
    clients.client("ssm").put_parameter(Name=f"{from_ssm}/WECHAT_TOKEN", Type="SecureString", Value="tokenfromssm")
    assert config.secret("WECHAT_TOKEN") == "tokenfromssm"
    with pytest.raises(RuntimeError, match="secret SESSION_SECRET is not configured"):
        config.secret("SESSION_SECRET")


def test_a_functions_secrets_are_fetched_together_once(aws, from_ssm, monkeypatch):
    """The first secret a container needs brings the others its function reads (one call
    on the cold start's path); a secret the function does not name is refused, unread."""
    ssm = clients.client("ssm")
    for name, value in (("WECHAT_TOKEN", "tokenfromssm"), ("SESSION_SECRET", "sessionfromssm"),
                        ("PII_HASH_KEY", "hashfromssm")):
        ssm.put_parameter(Name=f"{from_ssm}/{name}", Type="SecureString", Value=value)
    monkeypatch.setenv("SECRETS", "WECHAT_TOKEN SESSION_SECRET")
    assert config.secret("WECHAT_TOKEN") == "tokenfromssm"
    ssm.delete_parameters(Names=[f"{from_ssm}/WECHAT_TOKEN", f"{from_ssm}/SESSION_SECRET"])
    assert config.secret("SESSION_SECRET") == "sessionfromssm"  # fetched with the token
    with pytest.raises(RuntimeError, match="PII_HASH_KEY is not among this function's SECRETS"):
        config.secret("PII_HASH_KEY")
    config.reset()
    with pytest.raises(RuntimeError, match="secret SESSION_SECRET is not configured"):
        config.secret("SESSION_SECRET")


def fit_values() -> dict[str, str]:
    """Values a deployed stage accepts: WeChat's shapes, random keys."""
    import base64
    import secrets

    return {
        "WECHAT_TOKEN": secrets.token_hex(16),
        "WECHAT_ENCODING_AES_KEY": base64.b64encode(secrets.token_bytes(32)).decode().rstrip("="),
        "WECHAT_APP_SECRET": secrets.token_hex(16),
    }


def test_make_secrets_writes_one_parameter_per_secret_that_the_functions_read(aws, from_ssm, monkeypatch):
    given = fit_values()
    monkeypatch.setenv("WECHAT_TOKEN", given["WECHAT_TOKEN"])
    asked = []
    path = put_secrets.put("dev", lambda n: asked.append(n) or given[n], published=[])
    assert path == from_ssm
    assert sorted(asked) == ["WECHAT_APP_SECRET", "WECHAT_ENCODING_AES_KEY"]
    monkeypatch.delenv("WECHAT_TOKEN")

    names = {p["Name"]: p["Type"] for p in clients.client("ssm").describe_parameters()["Parameters"]}
    # the SMS providers' keys only when given (the stage sends through SNS)
    assert names == {f"{path}/{name}": "SecureString" for name in config.SECRET_NAMES
                     if name not in put_secrets.OPTIONAL}
    generated = {name: config.secret(name) for name in put_secrets.GENERATED}
    assert len(set(generated.values())) == len(put_secrets.GENERATED) == 2
    assert all(len(put_secrets.key_bytes(v)) >= 32 for v in generated.values())

    rotated = fit_values()["WECHAT_APP_SECRET"]
    monkeypatch.setenv("WECHAT_APP_SECRET", rotated)
    put_secrets.put("dev", lambda n: pytest.fail(f"asked again for {n}"), published=[])
    monkeypatch.delenv("WECHAT_APP_SECRET")
    config.reset()  # what five minutes do in a warm container
    assert config.secret("WECHAT_APP_SECRET") == rotated
    assert config.secret("WECHAT_TOKEN") == given["WECHAT_TOKEN"]
    assert {name: config.secret(name) for name in put_secrets.GENERATED} == generated


@pytest.mark.parametrize("name", sorted(_local_secret_values()))
def test_make_secrets_refuses_each_published_development_value(aws, from_ssm, monkeypatch, name):
    """The README's local defaults (or anything else in the repository's files) are refused
    for a deployed stage, with the secret named, and nothing is written."""
    values = {**fit_values(), name: _local_secret_values()[name]}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(put_secrets.Refused) as refused:
        put_secrets.put("prod", lambda n: pytest.fail(f"asked for {n}"))
    assert name in refused.value.reasons
    assert set(refused.value.reasons) <= set(_local_secret_values())
    assert clients.client("ssm").describe_parameters()["Parameters"] == []


@pytest.mark.parametrize(("name", "value"), [
    ("WECHAT_TOKEN", "ab"),
    ("WECHAT_TOKEN", "has a space"),
    ("WECHAT_TOKEN", "t" * 33),
    ("WECHAT_ENCODING_AES_KEY", "A" * 42),
    ("WECHAT_ENCODING_AES_KEY", "A" * 44),
    ("WECHAT_ENCODING_AES_KEY", "-" * 43),
    ("WECHAT_APP_SECRET", "0123456789abcdef0123456789abcde"),
    ("WECHAT_APP_SECRET", "0123456789abcdef0123456789abcdeg"),
    ("SESSION_SECRET", "too-short"),
    ("PII_HASH_KEY", "0123456789abcdef" * 4),
    ("ALIYUN_SMS_ACCESS_KEY", "LTAI5tNoSecret"),
    ("TENCENT_SMS_SECRET", ":only-the-key"),
])
def test_make_secrets_refuses_a_value_shaped_otherwise_than_the_protocol_requires(name, value):
    values = {**fit_values(), **{n: put_secrets.random.token_urlsafe(32) for n in put_secrets.GENERATED}}
    put_secrets.check(values, published=[])
    with pytest.raises(put_secrets.Refused) as refused:
        put_secrets.check({**values, name: value}, published=[])
    assert list(refused.value.reasons) == [name]


def test_the_command_says_which_secrets_and_why_and_stores_nothing(aws, from_ssm, monkeypatch, capsys):
    for key, value in {**fit_values(), "WECHAT_TOKEN": "localtoken", "SESSION_SECRET": "short"}.items():
        monkeypatch.setenv(key, value)
    assert put_secrets.main(["--stage", "prod"]) == 2
    out = capsys.readouterr().out
    assert "nothing stored for prod" in out
    assert "WECHAT_TOKEN: this value is written in the repository" in out
    assert "SESSION_SECRET: needs at least 32 random bytes" in out
    assert clients.client("ssm").describe_parameters()["Parameters"] == []


def test_an_sms_providers_key_is_stored_when_given_and_never_asked_for(aws, from_ssm, monkeypatch):
    key_pair = f"AKID{put_secrets.random.token_hex(16)}:{put_secrets.random.token_hex(16)}"
    for key, value in {**fit_values(), "TENCENT_SMS_SECRET": key_pair}.items():
        monkeypatch.setenv(key, value)
    path = put_secrets.put("dev", lambda n: pytest.fail(f"asked for {n}"), published=[])
    names = {p["Name"] for p in clients.client("ssm").describe_parameters()["Parameters"]}
    assert f"{path}/TENCENT_SMS_SECRET" in names and f"{path}/ALIYUN_SMS_ACCESS_KEY" not in names

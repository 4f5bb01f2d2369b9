"""Put a stage's secrets in SSM Parameter Store, one SecureString parameter per secret,
`<SECRETS_PATH>/<NAME>` (SECRETS_PATH is in serverless.yml; functions/common/config.py reads
them, and each function's role may read only the ones its code uses). CloudFormation cannot
create SecureString parameters, so an operator runs this once per stage, and again to change
a value:

    make secrets STAGE=prod
    WECHAT_APP_SECRET=... make secrets STAGE=prod      # change one value, keep the others

Each value comes from the environment, else from a prompt; values already stored are kept
unless given again. SESSION_SECRET and PII_HASH_KEY are generated when the
stage has none yet. The SMS providers' keys are stored only when given (a stage in a China
region sends SMS through one of them, docs/runbook.md):

    TENCENT_SMS_SECRET=<SecretId>:<SecretKey> make secrets STAGE=prod
 PII_HASH_KEY must not change once customers' data is stored: look-ups go
by its hashes.

Nothing is written unless every value is fit for a deployed stage: shaped as WeChat's
protocol requires (the token, the EncodingAESKey, the app secret), at least 32 random bytes
for the keys, and none of the values published with the code (the local stack's defaults in
the README, anything else in the repository's files). Each refusal says which secret and why.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import getpass
import os
import re
import secrets as random
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

import boto3

from functions.common.config import SECRET_NAMES
from scripts import osls

GENERATED = ("SESSION_SECRET", "PII_HASH_KEY")
# Stored only when given, never asked for: the key of the stage's SMS provider, if not SNS.
OPTIONAL = ("ALIYUN_SMS_ACCESS_KEY", "TENCENT_SMS_SECRET")
KEY_BYTES = 32
# Fewer distinct byte values than this in 32 or more bytes is a pattern, not randomness
# (32 random bytes have about 30; "0123456789abcdef" repeated has 16).
KEY_DISTINCT_BYTES = 20


class Refused(ValueError):
    """Values not fit for a deployed stage, one reason per secret."""

    def __init__(self, reasons: dict[str, str]):
        super().__init__("\n".join(f"{name}: {reason}" for name, reason in reasons.items()))
        self.reasons = reasons


def secrets_path(stage: str) -> str:
    return osls.resolved(stage).environment["SECRETS_PATH"]


def key_bytes(value: str) -> bytes:
    """The bytes a key stands for: hex, base64 (URL-safe or not, padding optional) or text."""
    if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", value):
        return bytes.fromhex(value)
    if re.fullmatch(r"[A-Za-z0-9_\-+/]+={0,2}", value):
        try:
            return base64.urlsafe_b64decode(value.replace("+", "-").replace("/", "_").rstrip("=") + "==")
        except (binascii.Error, ValueError):
            pass
    return value.encode()


def shape_problem(name: str, value: str) -> str | None:
    """Why `value` cannot be secret `name` (WeChat's rules, key strength), or None."""
    if name == "WECHAT_TOKEN" and not re.fullmatch(r"[A-Za-z0-9]{3,32}", value):
        return "WeChat's Token is 3 to 32 letters or digits (服务器配置 → 令牌)"
    if name == "WECHAT_ENCODING_AES_KEY":
        if not re.fullmatch(r"[A-Za-z0-9+/]{43}", value) or len(base64.b64decode(value + "=")) != 32:
            return "the EncodingAESKey is exactly 43 base64 characters (a 32-byte AES key), as the console shows it"
    if name == "WECHAT_APP_SECRET" and not re.fullmatch(r"[0-9a-fA-F]{32}", value):
        return "the AppSecret is 32 hexadecimal characters (基本配置 → 开发者密码)"
    if name in OPTIONAL and not re.fullmatch(r"[^:\s]+:\S+", value):
        return "the SMS provider's key is given as <id>:<secret> (AccessKey ID and secret, or SecretId and SecretKey)"
    if name in GENERATED:
        raw = key_bytes(value)
        if len(raw) < KEY_BYTES or len(set(raw)) < KEY_DISTINCT_BYTES:
            return (f"needs at least {KEY_BYTES} random bytes (hex, base64 or text); leave it unset to have one "
                    "generated")
    return None


def tracked_texts(root: Path = osls.ROOT) -> Iterable[str]:
    """The text of every file in the repository (what anyone with the code can read)."""
    listed = subprocess.run(  # noqa: S603 - fixed argv
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True  # noqa: S607
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        path = root / name
        if path.is_file():
            yield path.read_text(encoding="utf-8", errors="ignore")


def check(values: dict[str, str], published: Iterable[str]) -> None:
    """Refused (with every reason) unless each value is fit for a deployed stage."""
    reasons = {name: problem for name in values if (problem := shape_problem(name, values[name]))}
    texts = list(published)
    for name in values:
        whole = re.compile(rf"(?<![\w+/=-]){re.escape(values[name])}(?![\w+/=-])")
        if name not in reasons and any(whole.search(text) for text in texts):
            reasons[name] = ("this value is written in the repository's files (a published development default, "
                             "or a word anyone can guess); choose another")
    if reasons:
        raise Refused(reasons)


def merged(stored: dict[str, str], given: dict[str, str], ask: Callable[[str], str]) -> dict[str, str]:
    """Stored values, overridden by given ones; the rest generated or asked for."""
    out = {name: value for name, value in stored.items() if name in SECRET_NAMES and value}
    out.update({name: value for name, value in given.items() if value})
    for name in SECRET_NAMES:
        if not out.get(name) and name not in OPTIONAL:
            out[name] = random.token_urlsafe(KEY_BYTES) if name in GENERATED else ask(name)
    return out


def stored_values(ssm, path: str) -> dict[str, str]:
    out = {}
    for name in SECRET_NAMES:
        try:
            out[name] = ssm.get_parameter(Name=f"{path}/{name}", WithDecryption=True)["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            continue
    return out


def put(stage: str, ask: Callable[[str], str], ssm=None, published: Iterable[str] | None = None) -> str:
    """Check and write the stage's secrets; returns the parameters' path."""
    ssm = ssm or boto3.client("ssm")
    path = secrets_path(stage)
    values = merged(stored_values(ssm, path), {n: os.environ.get(n, "") for n in SECRET_NAMES}, ask)
    check(values, tracked_texts() if published is None else published)
    for name in [n for n in SECRET_NAMES if n in values]:
        ssm.put_parameter(Name=f"{path}/{name}", Value=values[name], Type="SecureString", Overwrite=True,
                          Description=f"wechat-bank {stage}: {name}")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    args = parser.parse_args(argv)
    try:
        path = put(args.stage, lambda secret: getpass.getpass(f"{secret}: ").strip())
    except Refused as refused:
        print(f"nothing stored for {args.stage}; these values are not fit for it:\n{refused}")
        return 2
    print(f"stored the secrets under {path}/ (one SecureString each; {', '.join(OPTIONAL)} only when given)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Put a stage's secrets in SSM Parameter Store: one SecureString holding a JSON object, the
parameter functions/common/config.py reads (its name is WECHAT_SECRETS_PARAMETER in
serverless.yml). CloudFormation cannot create SecureString parameters, so an operator runs
this once per stage, and again to change a value:

    make secrets STAGE=prod
    WECHAT_APP_SECRET=... make secrets STAGE=prod      # change one value, keep the others

Each value comes from the environment, else from a prompt; values already stored are kept
unless given again. SESSION_SECRET, PII_HASH_KEY and STAFF_API_KEY are generated when the
stage has none yet. PII_HASH_KEY must not change once customers' data is stored: look-ups go
by its hashes.
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import secrets as random
from collections.abc import Callable

import boto3

from functions.common.config import SECRET_NAMES
from infra.local import slsconfig

GENERATED = ("SESSION_SECRET", "PII_HASH_KEY", "STAFF_API_KEY")


def parameter_name(stage: str) -> str:
    return slsconfig.load(stage).environment["WECHAT_SECRETS_PARAMETER"]


def merged(stored: dict[str, str], given: dict[str, str], ask: Callable[[str], str]) -> dict[str, str]:
    """Stored values, overridden by given ones; the rest generated or asked for."""
    out = {name: value for name, value in stored.items() if name in SECRET_NAMES}
    out.update({name: value for name, value in given.items() if value})
    for name in SECRET_NAMES:
        if not out.get(name):
            out[name] = random.token_urlsafe(32) if name in GENERATED else ask(name)
    if len(out["WECHAT_ENCODING_AES_KEY"]) != 43:
        raise SystemExit("WECHAT_ENCODING_AES_KEY must be the 43 characters shown in the WeChat console")
    return out


def put(stage: str, ask: Callable[[str], str], ssm=None) -> str:
    ssm = ssm or boto3.client("ssm")
    name = parameter_name(stage)
    try:
        stored = json.loads(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        stored = {}
    value = merged(stored, {n: os.environ.get(n, "") for n in SECRET_NAMES}, ask)
    ssm.put_parameter(Name=name, Value=json.dumps(value), Type="SecureString", Overwrite=True,
                      Description=f"wechat-bank {stage}: WeChat and signing secrets (JSON)")
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    args = parser.parse_args(argv)
    name = put(args.stage, lambda secret: getpass.getpass(f"{secret}: ").strip())
    print(f"stored {', '.join(SECRET_NAMES)} in {name} (SecureString)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The account menu: `menu push` uploads infra/menu.json to WeChat, `menu show` prints what
WeChat has. Against the running local stack by default (its fake WeChat); with `--stage`
against a deployed stage's app (secrets from that stage's SSM parameters, AWS credentials
from the shell)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console

MENU = Path(__file__).resolve().parents[1] / "menu.json"
console = Console()
app = typer.Typer(help="The WeChat account menu (infra/menu.json).", no_args_is_help=True)


def _client(stage: str | None):
    from functions.common import aws, config, dynamo

    if stage:
        from infra.local import slsconfig

        env = slsconfig.load(stage).environment
        # forget anything pointing at a local stack: real WeChat, real AWS, secrets from SSM
        for key in [k for k in os.environ if k.startswith(("AWS_ENDPOINT_URL", "WECHAT_"))]:
            del os.environ[key]
        for key in config.SECRET_NAMES:
            os.environ.pop(key, None)
        keep = ("STAGE", "WECHAT_APP_ID", "SECRETS_PATH", "TABLE_WECHAT_STATE")
        os.environ.update({k: env[k] for k in keep})
        config.reset()
        aws.reset()
        dynamo.reconnect()
    from functions.common.wechat.client import get_client

    return get_client()


@app.command()
def push(stage: str = typer.Option(None, help="A deployed stage (dev, prod); default: the local stack.")) -> None:
    """Upload infra/menu.json as the account's menu."""
    menu = json.loads(MENU.read_text(encoding="utf-8"))
    _client(stage).create_menu(menu)
    console.print(f"menu pushed: {len(menu['button'])} top-level buttons")


@app.command()
def show(stage: str = typer.Option(None, help="A deployed stage (dev, prod); default: the local stack.")) -> None:
    """Print the menu WeChat currently has."""
    console.print_json(json.dumps(_client(stage).get_menu(), ensure_ascii=False))

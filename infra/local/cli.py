"""The local stack's command line (`python -m infra.local.cli`; `make run` is its `run`).

  run                 start everything on 127.0.0.1 (PORT, default 8000) in the foreground
  schedule list       the schedules of serverless.yml and when they fire next
  schedule fire NAME  fire one now on the running stack
  env                 `export` lines that point a shell at the running stack's AWS (and clock)
  <name> ...          operator commands of infra/cli/<name>.py, run against the running stack
"""
from __future__ import annotations

import json
import logging
import os
import shlex
import signal
import sys
import threading
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

import typer
from rich.console import Console
from rich.table import Table

from infra.cli import sub_apps

console = Console()
app = typer.Typer(help="The embedded local stack: every function of serverless.yml on 127.0.0.1.",
                  no_args_is_help=True, add_completion=False)
schedule_app = typer.Typer(help="Schedules from serverless.yml.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")
SUB_APPS = sub_apps()
for _name, _sub in SUB_APPS.items():
    app.add_typer(_sub, name=_name)  # type: ignore[arg-type]


def _default_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('PORT') or 8000}"


def _call(url: str, method: str = "GET") -> tuple[int, dict]:
    try:
        with urlopen(Request(url, method=method, data=b"" if method == "POST" else None), timeout=60) as res:  # noqa: S310
            return res.status, json.loads(res.read() or b"{}")
    except HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def attach(stack_url: str) -> bool:
    """Point this process's AWS clients and settings at a running stack."""
    try:
        _, env = _call(f"{stack_url.rstrip('/')}/_local/env")
    except (URLError, OSError, ValueError):
        return False
    os.environ.update(env)
    from functions.common import aws, clock, config

    aws.reset()
    config.reset()
    clock.start_from(os.environ)  # the stack's clock, when it was set
    return True


@app.callback()
def main(ctx: typer.Context,
         stack_url: str = typer.Option(None, "--stack-url", envvar="LOCAL_STACK_URL",
                                       help="A running stack (default http://127.0.0.1:$PORT).")) -> None:
    ctx.obj = (stack_url or _default_url()).rstrip("/")
    if ctx.invoked_subcommand in SUB_APPS and not attach(ctx.obj):
        console.print(f"[yellow]No local stack answers at {ctx.obj}; using this shell's AWS settings.[/]")


@app.command()
def run(port: int = typer.Option(8000, "--port", envvar="PORT", help="0 picks a free port."),
        demo: bool = typer.Option(True, help="Load each feature's demo data."),
        schedules: bool = typer.Option(True, help="Fire the schedules at their times."),
        stage_prefix: str = typer.Option(None, "--stage-prefix", envvar="LOCAL_STAGE_PREFIX",
                                         help="Serve the API under /<name>/, as execute-api's URL does."),
        base_path: str = typer.Option(None, "--base-path", envvar="LOCAL_BASE_PATH",
                                      help="Serve the API under /<name>/, as a custom domain's base path does."),
        ) -> None:
    """Start the whole stack in the foreground; Ctrl-C stops it."""
    from rich.logging import RichHandler

    from infra.local.gateway import Mount
    from infra.local.stack import LocalStack

    if stage_prefix and base_path:
        console.print("[red]Choose one of --stage-prefix and --base-path.[/]")
        raise typer.Exit(2)
    mount = Mount("stage", stage_prefix) if stage_prefix else Mount("base_path", base_path) if base_path else None

    logging.basicConfig(level=logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=console, show_path=False, markup=False)])
    logging.getLogger("infra.local").setLevel(logging.INFO)
    stack = LocalStack(port=port, demo=demo, schedules=schedules, inherit_env=True, mount=mount)
    try:
        with console.status("starting moto, tables, queues, functions and demo data..."):
            stack.start()
    except OSError as error:
        console.print(f"[red]Cannot listen on 127.0.0.1:{port}: {error}. Try PORT=<another> make run.[/]")
        raise typer.Exit(1) from error
    _banner(stack)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    stopping.wait()
    console.print("stopping...")
    stack.stop()
    sys.stdout.flush()
    sys.stderr.flush()
    # Tearing down moto's in-memory backends at interpreter exit takes seconds of CPU, and
    # nothing is left to save: leave now.
    os._exit(0)


def _banner(stack) -> None:
    env = stack.environment
    table = Table(title=f"Local stack on {stack.url}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for label, url in stack.urls().items():
        table.add_row(label, url)
    console.print(table)
    wechat = Table(title="WeChat settings (point a test account or the simulator here)", show_header=False,
                   title_justify="left")
    wechat.add_column(style="bold")
    wechat.add_column()
    wechat.add_row("URL", f"{stack.api_url}/wechat")
    for key in ("WECHAT_TOKEN", "WECHAT_ENCODING_AES_KEY", "WECHAT_APP_ID", "WECHAT_APP_SECRET"):
        wechat.add_row(key, env.get(key, ""))
    console.print(wechat)
    for name, outcome in stack.demo_results.items():
        if "error" in outcome:
            console.print(f"[red]demo data of {name} failed: {outcome['error']}[/]")
        else:
            console.print(f"demo data of {name}: {outcome['loaded']} records")
    console.print("[dim]Ctrl-C stops the stack. `python -m infra.local.cli schedule fire <name>` fires a "
                  "schedule now.[/]")


@schedule_app.command("list")
def schedule_list() -> None:
    """Every schedule of serverless.yml and when it fires next."""
    from functions.common import clock
    from infra.local import slsconfig
    from infra.local.schedules import schedules_from

    table = Table("name", "function", "expression", "timezone", "next (local)", "input")
    now = clock.now()
    for s in schedules_from(slsconfig.load("local")):
        info = s.describe(now)
        table.add_row(info["name"], info["function"], " ".join(info["expressions"]), info["timezone"],
                      info["next_local"] or "-", json.dumps(info["input"], ensure_ascii=False))
    console.print(table)


@schedule_app.command("fire")
def schedule_fire(ctx: typer.Context, name: str = typer.Argument(..., help="Schedule name or function key.")) -> None:
    """Fire a schedule now on the running stack and print what the function returned."""
    try:
        status, answer = _call(f"{ctx.obj}/_local/schedules/{name}/fire", "POST")
    except (URLError, OSError) as error:
        console.print(f"[red]No local stack answers at {ctx.obj} ({error}); start it with `make run`.[/]")
        raise typer.Exit(2) from error
    console.print_json(json.dumps(answer, ensure_ascii=False))
    if status != 200:
        raise typer.Exit(1)


@app.command("env")
def env_command(ctx: typer.Context) -> None:
    """Print `export` lines for the running stack's AWS endpoints, tables and queues."""
    try:
        _, env = _call(f"{ctx.obj}/_local/env")
    except (URLError, OSError) as error:
        console.print(f"[red]No local stack answers at {ctx.obj}.[/]")
        raise typer.Exit(2) from error
    for key, value in sorted(env.items()):
        print(f"export {key}={shlex.quote(value)}")


if __name__ == "__main__":
    app()

"""`menu push` uploads infra/menu.json through the real client to the stack's fake WeChat."""
import json

from typer.testing import CliRunner

from infra.cli.menu import MENU
from infra.local import cli


def test_menu_push_then_show(local_stack):
    runner = CliRunner()
    pushed = runner.invoke(cli.app, ["--stack-url", local_stack.url, "menu", "push"])
    assert pushed.exit_code == 0, pushed.output
    expected = json.loads(MENU.read_text(encoding="utf-8"))
    assert local_stack.fake_wechat.menu == expected

    shown = runner.invoke(cli.app, ["--stack-url", local_stack.url, "menu", "show"])
    assert shown.exit_code == 0, shown.output
    assert expected["button"][0]["name"] in shown.output

"""Texts that send a customer to the menu name items that exist (infra/menu.json), in the
order the customer taps them, and the words they suggest replying are understood."""
from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MENU = json.loads((ROOT / "infra" / "menu.json").read_text(encoding="utf-8"))
# 菜单“预约申请”→“预约客户经理”“我的预约”: a top item, then any of its sub-items
MENU_PATH = re.compile(r"菜单((?:“[^”]+”)+)(?:→((?:“[^”]+”)+))?")
QUOTED = re.compile(r"“([^”]+)”")


def customer_texts() -> dict[str, str]:
    """Every template and feature module a customer's text comes from."""
    files = [*(ROOT / "functions").rglob("*.py"), *(ROOT / "functions").rglob("*.html")]
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in files}


def wrong_menu_names(text: str) -> list[str]:
    tops = {b["name"]: [s["name"] for s in b.get("sub_button", [])] for b in MENU["button"]}
    wrong = []
    for top_part, sub_part in MENU_PATH.findall(text):
        named_tops = QUOTED.findall(top_part)
        if sub_part:
            [top] = named_tops[-1:] or [""]
            wrong += [f"{top}→{s}" for s in QUOTED.findall(sub_part) if s not in tops.get(top, [])]
            named_tops = named_tops[:-1]
        wrong += [t for t in named_tops if t not in tops]
    return wrong


def test_every_menu_item_a_text_names_exists():
    found = {path: wrong_menu_names(text) for path, text in customer_texts().items()}
    assert {path: wrong for path, wrong in found.items() if wrong} == {}
    assert "菜单“" in customer_texts()["functions/webhook/routes.py"]


def test_a_wrong_name_is_caught():
    assert wrong_menu_names("请在菜单“预约服务”中办理") == ["预约服务"]
    assert wrong_menu_names("点击菜单“预约申请”→“预约客户经理”“绑定银行卡”") == ["预约申请→绑定银行卡"]


def test_the_help_text_names_the_menu_and_its_replies_are_understood():
    from functions.webhook import phrases, routes

    text = routes.help_text()
    tops = [b["name"] for b in MENU["button"]]
    assert all(f"“{top}”" in text for top in tops)
    replies = re.findall(r"回复((?:“[^”]+”)+)", text)
    words = [w for group in replies for w in QUOTED.findall(group)]
    assert words and all(phrases.understand(w).name for w in words), words

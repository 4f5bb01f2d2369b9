"""infra/menu.json: within WeChat's limits, and every key it sends is routed (and the
reverse)."""
from __future__ import annotations

import json
from pathlib import Path

from functions.webhook import phrases

MENU = json.loads((Path(__file__).parents[2] / "infra" / "menu.json").read_text(encoding="utf-8"))


def _buttons():
    for top in MENU["button"]:
        yield top
        yield from top.get("sub_button", [])


def test_menu_respects_wechat_limits():
    assert 1 <= len(MENU["button"]) <= 3
    for top in MENU["button"]:
        assert len(top["name"].encode()) <= 16, top["name"]
        assert len(top.get("sub_button", [])) <= 5
        for sub in top.get("sub_button", []):
            assert len(sub["name"].encode()) <= 60, sub["name"]
            assert "sub_button" not in sub
        assert ("sub_button" in top) != ("type" in top)
    for button in _buttons():
        if "type" in button:
            assert button["type"] in ("click", "location_select")
            assert 1 <= len(button["key"].encode()) <= 128


def test_every_menu_key_is_routed_and_every_routed_key_is_on_the_menu():
    keys = {b["key"] for b in _buttons() if "key" in b}
    assert keys == set(phrases.MENU_KEYS)
    assert {b["key"]: b["type"] for b in _buttons() if "key" in b}["BRANCH_NEARBY"] == "location_select"


def test_menu_round_trips_through_the_api(fake_wechat_api):
    from functions.common.wechat.client import get_client

    get_client().create_menu(MENU)
    assert get_client().get_menu()["menu"] == MENU

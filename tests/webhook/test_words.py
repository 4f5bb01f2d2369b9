"""What customers type, read in one place (functions/webhook/phrases.py): real phrasings with
punctuation, spaces, traditional characters and speech-recognition slips reach the intent
they mean, and nothing outside the webhook matches a customer's words."""
from __future__ import annotations

import ast
from pathlib import Path

import opencc
import pytest

from functions.common import intents
from functions.common.intents import Intent
from functions.webhook import phrases
from tests.webhook import wechat_side as wx

ROOT = Path(__file__).resolve().parents[2]
HELP = "help"

# What customers type or say, by what it must mean: an intent name; for branches (name,
# service, place words); or the webhook's own help.
PHRASINGS = {
    # cards: binding (the bug: "我要绑卡" got the help text, "帮我绑定银行卡" a branch search)
    intents.CARD_BIND: ("绑卡", "我要绑卡", "帮我绑定银行卡", "绑定信用卡", "绑定 银行卡！", "綁定銀行卡",
                        "怎么添加银行卡？", "嗯，帮定一下银行卡。"),
    intents.BILLS_SHOW: ("账单", "查账单", "信用卡账单", "还款", "信用卡还款日是哪天", "帳單", "這個月要還多少？",
                         "查一下帐单。", "我的账单"),
    intents.MESSAGES_SHOW: ("我的消息", "最近的消息", "我的訊息"),
    intents.BOOKING_BOOK: ("预约", "预约客户经理", "我想预约一下。", "預約理財經理", "找个客户经理", "预 约"),
    intents.BOOKING_MINE: ("我的预约", "查预约", "取消预约", "那个，我的预约。", "我的預約"),
    intents.LOAN_APPLY: ("贷款", "我想贷款", "借款", "我要借钱", "想办个房贷", "我想代款。", "貸款"),
    intents.CARD_APPLY: ("信用卡", "办信用卡", "申请信用卡", "我要办卡", "辦信用卡"),
    intents.LOAN_MINE: ("我的申请", "申请进度", "我的貸款申請進度", "审批结果出来了吗？"),
    intents.BRANCH_NEARBY: ("网点", "附近网点", "附近的网点", "最近的营业厅在哪里？", "附近網點",
                            "附近 13812345678 网点"),
    (intents.BRANCH_NEARBY, intents.ATM): ("ATM", "取款机", "附近的ATM", "ａｔｍ", "附近有没有取款機？", "我要取钱",
                                           "离我最近的自助银行", "提款机在哪儿"),
    (intents.BRANCH_SEARCH, intents.ATM, "江北区"): ("江北区的ATM",),
    (intents.BRANCH_SEARCH, "", "鄞州"): ("鄞州 网点",),
    (intents.BRANCH_SEARCH, "", "鼓楼"): ("鼓楼附近的网点",),
    (intents.BRANCH_SEARCH, "", "慈城"): ("慈城支行",),
    (intents.BRANCH_SEARCH, "", "天一广场"): ("天一广场",),
    (intents.BRANCH_SEARCH, "", "中山东路"): ("中山东路 ",),
    # personal data typed into the chat goes to no feature; the rest is the webhook's own help
    HELP: ("330203198503094575", "我的卡号6222021234567890128", "你好", "您好！", "帮助", "菜单", "?", "  ", "Help"),
}


def _meaning(expected) -> phrases.Meaning:
    if expected == HELP:
        return phrases.Meaning(help=True)
    if isinstance(expected, str):
        return phrases.Meaning(expected)
    name, service, *place = expected
    return phrases.Meaning(name, query=place[0] if place else "", service=service)


def test_the_table_is_tried_on_sixty_real_phrasings():
    assert sum(len(texts) for texts in PHRASINGS.values()) >= 60
    for expected, texts in PHRASINGS.items():
        for text in texts:
            assert phrases.understand(text) == _meaning(expected), text


@pytest.mark.parametrize("variant", ["s2t", "s2tw", "s2hk", "s2twp"])
def test_every_phrase_written_in_traditional_characters_means_the_same(variant):
    """Checked against OpenCC's conversions (Taiwan's phrasing included), so the small
    character map in phrases.py covers every phrase."""
    convert = opencc.OpenCC(variant).convert
    for entry in phrases.PHRASES:
        for word in entry.words:
            assert phrases.understand(convert(word)) == phrases.understand(word), (word, convert(word))
    for word in phrases.HELP:
        assert phrases.understand(convert(word)).help, word


def test_every_name_has_its_function_and_every_menu_key_a_name():
    assert set(phrases.FUNCTIONS) == intents.NAMES
    assert set(phrases.MENU_KEYS.values()) <= intents.NAMES
    assert {p.name for p in phrases.PHRASES} | {intents.BRANCH_SEARCH} == intents.NAMES
    assert {p.service for p in phrases.PHRASES} == {"", intents.ATM}


def test_atm_and_cash_machine_reach_branch_lookup_filtered_to_atms(webhook, invocations):
    from functions.branch_lookup import store
    from infra.local.demo import branch_lookup

    branch_lookup.load()
    openid = wx.new_openid()
    path, body = wx.request(wx.event("LOCATION", openid, Latitude=29.8706, Longitude=121.5528, Precision=30.0))
    webhook.http.post(path, headers={"Content-Type": "text/xml"}, body=body)
    for text in ("ATM", "取款机"):
        path, body = wx.request(wx.msg("text", openid, Content=text))
        reply = wx.read_reply(webhook.http.post(path, headers={"Content-Type": "text/xml"}, body=body).body, "plain")
        sent = invocations.calls[-1]
        assert sent[0] == "branchLookupIntent" and (sent[1]["name"], sent[1]["service"]) == (intents.BRANCH_NEARBY,
                                                                                             intents.ATM)
        assert reply["Content"].startswith("离您最近的自助取款网点"), text
        listed = [href.rsplit("/", 1)[1].split('"')[0] for href in reply["Content"].split("/branches/view/")[1:]]
        assert len(listed) == 3 and all("atm" in b["services"] for b in store.get(listed)), text


# ----- nobody else reads a customer's words ---------------------------------------------------

def matchers(source: str) -> set[str]:
    """String constants a module matches text against: compared, searched for, or listed in
    a literal tuple, list or set (a keyword table)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        operands: list[ast.expr] = []
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            operands = list(node.elts)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                "startswith", "endswith", "find", "index", "count", "replace", "split", "search", "match", "sub"):
            operands = list(node.args)
        found |= {o.value for o in operands if isinstance(o, ast.Constant) and isinstance(o.value, str)}
    return found


def _customer_words(exempt_branches: bool) -> set[str]:
    """The phrases of the chat; for branch search, less its own search page's service words
    ("鄞州 理财" on the search page filters branches; "理财" in the chat is the webhook's)."""
    from functions.branch_lookup.service import SERVICE_WORDS

    words = set(phrases.HELP)
    for entry in phrases.PHRASES:
        if not (exempt_branches and entry.name == intents.BRANCH_NEARBY):
            words |= set(entry.words)
    if exempt_branches:
        words -= {phrases.normal(w) for found in SERVICE_WORDS.values() for w in found}
    return words


def word_matching_outside_the_webhook() -> dict[str, set[str]]:
    """{module: phrases it matches}. Branch search (branch_lookup) may know branch words: a
    search query's place and service words are its business; which intent a text is, is not."""
    out = {}
    for path in sorted((ROOT / "functions").rglob("*.py")):
        module = str(path.relative_to(ROOT))
        if module.startswith("functions/webhook/"):
            continue
        words = _customer_words(exempt_branches=module.startswith("functions/branch_lookup/"))
        hits = {c for c in matchers(path.read_text(encoding="utf-8")) if phrases.normal(c).replace(" ", "") in words}
        if hits:
            out[module] = hits
    return out


def test_no_module_outside_the_webhook_matches_customer_text():
    assert word_matching_outside_the_webhook() == {}
    assert {"text", "key"}.isdisjoint(Intent.__dataclass_fields__)  # the contract carries no raw words


def test_the_check_finds_a_keyword_table():
    assert matchers('BIND = ("绑卡", "绑定")\nif text.startswith("我的预约") or "账单" in text: pass') == {
        "绑卡", "绑定", "我的预约", "账单"}
    assert "贷款" in matchers('if intent.text == "贷款": pass')

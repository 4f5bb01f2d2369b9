"""A customer never reads an internal code: every refusal the features can raise says, in
Chinese, what happened and what to do next; its code stays in the JSON `code` field and the
log. Found by reading the source (every ApiError, its subclasses, FieldError and
Validator.add with a literal message), so a refusal added later is held to it too."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for p in (ROOT / "functions").rglob("*.py") if "/wechat/" not in p.as_posix())
# where each constructor takes its message
MESSAGE_AT = {"ApiError": 2, "Conflict": 1, "Forbidden": 1, "TooManyRequests": 1, "NotFound": 0,
              "Unauthorized": 0, "ServiceUnavailable": 0, "ValidationFailed": 1, "FieldError": 2, "add": 2}
# the back office's own vocabulary, answered to staff tools, never to customers
STAFF_ONLY = {("functions/booking/actions.py", "mark")}
CJK = re.compile(r"[\u4e00-\u9fff]")
CODE_LIKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


def _messages() -> list[tuple[str, str]]:
    found = []
    for path in SOURCES:
        module = ast.parse(path.read_text(encoding="utf-8"))
        staff = {id(n) for f in module.body if isinstance(f, ast.FunctionDef)
                 and (path.relative_to(ROOT).as_posix(), f.name) in STAFF_ONLY for n in ast.walk(f)}
        for node in ast.walk(module):
            if not isinstance(node, ast.Call) or id(node) in staff:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name not in MESSAGE_AT:
                continue
            given = [k.value for k in node.keywords if k.arg == "message"]
            if not given and len(node.args) > MESSAGE_AT[name]:
                given = [node.args[MESSAGE_AT[name]]]
            for arg in given:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    text = arg.value
                elif isinstance(arg, ast.JoinedStr):
                    text = "".join(v.value for v in arg.values if isinstance(v, ast.Constant))
                else:
                    continue
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", text))
    return found


MESSAGES = _messages()


def test_the_scan_finds_the_refusals():
    assert len(MESSAGES) > 90


@pytest.mark.parametrize(("where", "text"), MESSAGES, ids=[w for w, _ in MESSAGES])
def test_every_refusal_is_a_chinese_sentence_without_a_code(where, text):
    assert CJK.search(text), f"{where}: {text!r} is not Chinese"
    assert not CODE_LIKE.search(text), f"{where}: {text!r} shows an internal code"
    assert "错误代码" not in text


def test_the_error_page_shows_the_sentence_not_the_code():
    from functions.common import pages
    from functions.common.errors import ApiError, FieldError

    html = pages.error_page(ApiError(404, "unknown_branch", "未找到该网点，请返回重新选择",
                                     [FieldError("branch_id", "unknown_branch", "请重新选择网点")]))
    visible = re.sub(r"<[^>]+>", " ", html)
    assert "未找到该网点" in visible and "请重新选择网点" in visible
    assert "unknown_branch" not in visible and "错误代码" not in visible

"""H5 pages: Jinja2 with autoescaping, a shared WeUI base template in common/pages and each
feature's own templates in its pages/ folder.

A function renders its templates from their compiled form (`pages/compiled.zip`, written by
`make pages` with the pinned Jinja2; a test keeps it in step with the templates): a first
page then loads Python code instead of lexing, parsing and generating it, which cost
15-30 ms of a cold start for the larger forms.

Pages run no script and no style but the inline ones written in these templates, allowed by
their hashes in the Content-Security-Policy (`inline_hashes`); so those must be static text,
with a page's data in a JSON block (`<script type="application/json">`) or data attributes.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
from functools import cache
from pathlib import Path

from functions.common import session, urls
from functions.common.errors import ApiError

COMMON_PAGES = Path(__file__).parent / "pages"
# Every function ships common and its own folder: their pages are all it can render.
FUNCTIONS = Path(__file__).parent.parent
# WeChat's own CDN inside WeChat; the local stack serves the same file from node_modules.
WEUI_CSS = "https://res.wx.qq.com/open/libs/weui/2.6.21/weui.min.css"
_INLINE = re.compile(r"<(script|style)\b([^>]*)>(.*?)</\1\s*>", re.S | re.I)
_DATA_BLOCK = re.compile(r"""\btype\s*=\s*["']?application/json""", re.I)
_TEMPLATE_SYNTAX = ("{{", "{%", "{#")


def weui_css() -> str:
    return os.environ.get("WEUI_CSS_URL", WEUI_CSS)


COMPILED = "compiled.zip"


def _environment(loader):
    from jinja2 import Environment, select_autoescape

    return Environment(loader=loader, autoescape=select_autoescape(default=True))


@cache
def environment(feature_pages: str | None = None):
    from jinja2 import ChoiceLoader, ModuleLoader

    folders = [feature_pages] if feature_pages else []
    env = _environment(ChoiceLoader([ModuleLoader(os.path.join(folder, COMPILED))
                                     for folder in [*folders, str(COMMON_PAGES)]]))
    env.globals["weui_css"] = weui_css()
    env.globals["current_session"] = session.current
    # every href, src and form action of ours: under the stage or base path of the request
    env.globals["url"] = urls.link
    return env


def page_folders() -> list[Path]:
    """Every folder of templates: common's and each feature's."""
    return [COMMON_PAGES, *sorted(p for p in FUNCTIONS.glob("*/pages") if p != COMMON_PAGES)]


def compile_folder(folder: Path, target: Path) -> None:
    """Compile a folder's templates into a zip of Python modules, as `environment` loads
    them (`make pages`)."""
    from jinja2 import FileSystemLoader

    _environment(FileSystemLoader(str(folder))).compile_templates(str(target), extensions=["html"],
                                                                  ignore_errors=False)


def render(feature_pages: str | Path | None, template: str, **context) -> str:
    """Render `template` from a feature's pages folder (or common's)."""
    folder = str(feature_pages) if feature_pages else None
    return environment(folder).get_template(template).render(**context)


def error_page(error: ApiError) -> str:
    return render(None, "error.html", error=error)


@cache
def inline_hashes() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """CSP sources ('sha256-…') of every inline script and of every style block in the
    templates this function ships: (scripts, styles). Computed once, from the template files
    themselves, so nothing a response contains can allow itself."""
    found: dict[str, set[str]] = {"script": set(), "style": set()}
    for template in sorted(FUNCTIONS.glob("*/pages/*.html")):
        text = template.read_text(encoding="utf-8")
        for tag, attributes, body in _INLINE.findall(text):
            tag = tag.lower()
            if tag == "script" and (_DATA_BLOCK.search(attributes) or "src=" in attributes.lower()):
                continue
            if any(mark in body for mark in _TEMPLATE_SYNTAX):
                raise ValueError(f"{template}: an inline <{tag}> must be static text to be allowed by its hash")
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            found[tag].add(f"'sha256-{digest}'")
    return tuple(sorted(found["script"])), tuple(sorted(found["style"]))

"""H5 pages: Jinja2 with autoescaping, a shared WeUI base template in common/pages and each
feature's own templates in its pages/ folder."""
from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from functions.common.errors import ApiError

COMMON_PAGES = Path(__file__).parent / "pages"
# WeChat's own CDN inside WeChat; the local stack serves the same file from node_modules.
WEUI_CSS = "https://res.wx.qq.com/open/libs/weui/2.6.21/weui.min.css"


@cache
def environment(feature_pages: str | None = None):
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

    loaders = [FileSystemLoader(feature_pages)] if feature_pages else []
    loaders.append(FileSystemLoader(str(COMMON_PAGES)))
    env = Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(default=True))
    env.globals["weui_css"] = os.environ.get("WEUI_CSS_URL", WEUI_CSS)
    return env


def render(feature_pages: str | Path | None, template: str, **context) -> str:
    """Render `template` from a feature's pages folder (or common's)."""
    folder = str(feature_pages) if feature_pages else None
    return environment(folder).get_template(template).render(**context)


def error_page(error: ApiError) -> str:
    return render(None, "error.html", error=error)

"""A page's position as an opaque `cursor`: the last key DynamoDB returned for the page,
handed back by the client for the next one."""
from __future__ import annotations

import base64
import json
from collections.abc import Mapping

from functions.common.errors import Validator


def encode_cursor(key: dict | None) -> str | None:
    """The page's last key as the opaque `cursor` of the next page."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode() if key else None


def decode_cursor(cursor: str | None) -> dict | None:
    """The key a `cursor` carries; ValueError for anything that is not one."""
    if not cursor:
        return None
    key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    if not isinstance(key, dict):
        raise ValueError("bad cursor")
    return key


def page(query: Mapping[str, str], v: Validator, most: int = 200, default: int = 50) -> tuple[int, dict | None]:
    """A listing's `limit` (1 to `most`) and `cursor` from its query, each bad one added to
    `v` field by field."""
    limit_raw = query.get("limit") or str(default)
    if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= most:
        v.add("limit", "limit_invalid", f"每页条数应在1至{most}之间")
    try:
        cursor = decode_cursor(query.get("cursor"))
    except ValueError:
        v.add("cursor", "cursor_invalid", "分页参数无效")
        cursor = None
    return (int(limit_raw) if limit_raw.isdigit() else default), cursor

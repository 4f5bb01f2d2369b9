"""functions/common/urls.py: links under the prefix a request arrived with, absolute URLs on
PUBLIC_BASE_URL, from the REST v1 events API Gateway sends (execute-api's URL keeps the
stage out of `path`; a custom domain keeps its base path in it)."""
from __future__ import annotations

import pytest

from functions.common import urls

EXECUTE_API = {"path": "/dev/booking/b/b-1", "stage": "dev"}  # event path: /booking/b/b-1
CUSTOM_DOMAIN = {"path": "/wx/booking/b/b-1", "stage": "dev"}  # event path: /wx/booking/b/b-1
ROOT_MAPPING = {"path": "/booking/b/b-1", "stage": "dev"}


@pytest.mark.parametrize(("context", "prefix"), [(EXECUTE_API, "/dev"), (CUSTOM_DOMAIN, "/wx"), (ROOT_MAPPING, "")])
def test_the_prefix_is_request_context_path_less_the_route(context, prefix):
    assert urls.request_prefix(context, "/booking/b/{booking_id}", {"booking_id": "b-1"}) == prefix


def test_a_greedy_parameter_counts_its_segments_and_an_encoded_slash_is_one():
    assert urls.request_prefix({"path": "/dev/files/a/b/c"}, "/files/{proxy+}", {"proxy": "a/b/c"}) == "/dev"
    assert urls.request_prefix({"path": "/wx/booking/b/a%2Fb"}, "/booking/b/{booking_id}",
                               {"booking_id": "a/b"}) == "/wx"
    assert urls.request_prefix({"path": "/"}, "/booking/b/{booking_id}", {"booking_id": "x"}) == ""


def test_links_follow_the_request_and_absolute_urls_the_setting(setting):
    setting("PUBLIC_BASE_URL", "https://wx.example-bank.cn/wx/")
    assert urls.link("/booking/mine") == "/wx/booking/mine"  # no request: the setting's path
    token = urls.serve(EXECUTE_API, "/booking/b/{booking_id}", {"booking_id": "b-1"})
    try:
        assert urls.link("/booking/new", branch_id="B 1", service=None) == "/dev/booking/new?branch_id=B+1"
        assert urls.cookie_path() == "/dev/"
        assert urls.absolute("/booking", q="鄞州") == "https://wx.example-bank.cn/wx/booking?q=%E9%84%9E%E5%B7%9E"
    finally:
        urls.restore(token)
    assert urls.cookie_path() == "/wx/"


def test_an_app_path_starts_at_the_root():
    with pytest.raises(ValueError, match="starts with"):
        urls.link("booking")
    assert urls.app_path("/booking/b/{booking_id}/cancel", {"booking_id": "b-9"}) == "/booking/b/b-9/cancel"

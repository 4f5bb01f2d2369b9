"""GET /MP_verify_<token>.txt: WeChat's check of the OAuth and JS-SDK domains, served from the
stage setting, and nothing else at the root."""
from __future__ import annotations

import pytest
from chalice.test import Client


@pytest.fixture
def client(aws):
    from functions.webhook.app import app

    with Client(app) as c:
        yield c


def test_the_file_wechat_asks_for_holds_the_token(client, setting):
    setting("WECHAT_VERIFY_TOKEN", "Xq0l1ZNVm0iyhk1d")
    res = client.http.get("/MP_verify_Xq0l1ZNVm0iyhk1d.txt")
    assert (res.status_code, res.body) == (200, b"Xq0l1ZNVm0iyhk1d")
    assert res.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("name", ["MP_verify_other.txt", "MP_verify_Xq0l1ZNVm0iyhk1d.txt.bak", "favicon.ico",
                                  "MP_verify_.txt"])
def test_any_other_name_is_not_found(client, setting, name):
    setting("WECHAT_VERIFY_TOKEN", "Xq0l1ZNVm0iyhk1d")
    res = client.http.get("/" + name)
    assert res.status_code == 404 and b"Xq0l1ZNVm0iyhk1d" not in res.body


def test_without_the_setting_there_is_no_file(client, setting):
    setting("WECHAT_VERIFY_TOKEN", "")
    assert client.http.get("/MP_verify_.txt").status_code == 404

"""The customer-events channel in the local stack: a card bound on notify's page (fake WeChat
login, the SMS code moto's SNS recorded) is announced on the topic, delivered by the stack to
products' queue and its consumer, and is in products' projection; unbound, it leaves it."""
from __future__ import annotations

import re
import secrets
from http.cookiejar import Cookie
from urllib.parse import urlsplit

import pytest
import requests

from tests import core_banking

pytestmark = pytest.mark.e2e

OPENID = "o_e2e_cards_" + secrets.token_hex(3)


def _last_code(stack, phone: str) -> str:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    backend = sns_backends[DEFAULT_ACCOUNT_ID][stack.config_region]
    texts = [text for to, text, *_ in backend.sms_messages.values() if to == "+86" + phone]
    return re.search(r"验证码(\d{6})", texts[-1]).group(1)


def test_a_card_bound_on_notifys_page_reaches_products_projection(local_stack):
    from functions.products import store

    card, phone = core_banking.customer("debit")
    browser = requests.Session()
    browser.cookies.set_cookie(Cookie(0, "sim_openid", OPENID, None, False, urlsplit(local_stack.url).hostname, False,
                                      False, "/", True, False, None, False, None, None, {}))
    page = browser.get(local_stack.api_url + "/notify/bind", timeout=30)
    assert page.status_code == 200, page.text[:300]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    headers = {"X-CSRF-Token": csrf}
    asked = browser.post(local_stack.api_url + "/notify/api/otp", json={"card_number": card, "phone": phone},
                         headers=headers, timeout=30)
    assert asked.status_code == 200, asked.text
    bound = browser.post(local_stack.api_url + "/notify/api/bindings", json={"code": _last_code(local_stack, phone)},
                         headers=headers, timeout=30)
    assert bound.status_code == 201, bound.text
    local_stack.drain_queues()
    [found] = store.cards_of(OPENID)
    assert (found.last4, found.kind, found.phone_masked) == (card[-4:], "debit", f"{phone[:3]}****{phone[-4:]}")
    depths = {q["logical_id"]: q for q in local_stack.queue_depths()}
    assert depths["ProductsCustomerEventsQueue"]["consumers"] == ["productsCustomerEvents"]
    binding = bound.json()["binding"]["id"]
    assert browser.delete(f"{local_stack.api_url}/notify/api/bindings/{binding}", headers=headers,
                          timeout=30).status_code == 200
    local_stack.drain_queues()
    assert store.cards_of(OPENID) == []

"""我的理财: holdings per product (units = amount / net value at confirmation, cost, last net
value, value), orders with their states, an order's page for its owner only, cancelling by
POST with the CSRF token, redemption of open-ended products (T+1 shown), cards masked."""
from __future__ import annotations

import json
from datetime import date
from urllib.parse import urlencode

import pytest

from functions.common.errors import ApiError
from functions.products import actions, service, store
from tests.products.conftest import buyer, load, place, row
from tests.products.test_order_states import answer
from tests.sessions import customer


def test_units_cost_and_value_arithmetic():
    assert service.units_for(100_000, 10_000) == 100_000  # 1,000 yuan at 1.0000: 1,000.00 units
    assert service.units_for(100_000, 10_234) == 97_713  # 977.13 units, rounded down
    assert service.value_of(97_713, 10_500) == 102_598  # ¥1,025.98, rounded down
    assert service.cost_of_units(100_000, 97_713, 97_713) == 100_000
    assert service.cost_of_units(100_000, 97_713, 48_856) == 49_999
    assert service.parse_units("1,000.5") == 100_050 and service.parse_units("1.234") is None
    assert service.show_units(97_713) == "977.13"


@pytest.fixture
def held(shop, results):
    """o1 holds 977.13 units of the open-ended WM0100, bought for ¥1,000.00 at 1.0234."""
    order = place(code="WM0100", amount_fen=100_000, key="h" * 32)
    answer(results, order, "CONFIRMED", nav="1.0234")
    return order


def test_a_confirmed_purchase_becomes_a_holding_valued_at_the_last_net_value(held):
    store.publish([service.NetValue("WM0100", date(2026, 11, 29), 10_500)])
    [position] = actions.mine("o1").positions
    assert (position.units_e2, position.cost_fen, position.nav_e4, position.value_fen) == (97_713, 100_000, 10_500,
                                                                                         102_598)
    assert position.redeemable
    confirmed = store.get_order(held.order_id)
    assert (confirmed.units_e2, confirmed.nav_e4) == (97_713, 10_234)


def test_the_page_shows_holdings_and_orders_with_the_card_masked(held, client):
    place(key="p" * 32)
    html = client.http.get("/products/mine", headers=customer("o1")).body.decode()
    assert 'data-holding="WM0100"' in html and "977.13" in html and "¥1,000.00" in html
    assert html.count("data-order=") == 2 and 'data-state="PENDING"' in html and 'data-state="CONFIRMED"' in html
    assert "····5678" in html and "card-ref" not in html
    body = json.loads(client.http.get("/products/api/mine", headers=customer("o1")).body)
    assert [h["units"] for h in body["holdings"]] == ["977.13"]
    assert {o["card"] for o in body["orders"]} == {"····5678"}


def test_an_order_page_is_its_owners_alone(held, client):
    mine = client.http.get(f"/products/orders/{held.order_id}", headers=customer("o1"))
    assert mine.status_code == 200 and "已确认" in mine.body.decode()
    assert client.http.get(f"/products/orders/{held.order_id}", headers=customer("o_other")).status_code == 404
    assert client.http.get("/products/orders/not-an-id", headers=customer("o1")).status_code == 404
    assert client.http.get(f"/products/orders/{held.order_id}").status_code in (302, 401)


def test_cancelling_on_the_page_needs_the_csrf_token(shop, client):
    order = place()
    path = f"/products/orders/{order.order_id}/cancel"
    refused = client.http.post(path, body="", headers=customer("o1", form=True, csrf=False))
    assert refused.status_code == 403 and store.get_order(order.order_id).state == "PENDING"
    other = client.http.post(path, body="", headers=customer("o_other", form=True))
    assert other.status_code == 404 and store.get_order(order.order_id).state == "PENDING"
    done = client.http.post(path, body="", headers=customer("o1", form=True))
    assert done.status_code == 302 and done.headers["Location"].endswith("?notice=cancelled")
    assert store.get_order(order.order_id).state == "CANCELLED"


def test_redeeming_part_of_a_holding_exactly_once_settling_t_plus_1(held, results, client):
    form = {"units": "500", "idempotency_key": "r" * 32}
    first = client.http.post("/products/holdings/WM0100/redeem", body=urlencode(form),
                             headers=customer("o1", form=True))
    again = client.http.post("/products/holdings/WM0100/redeem", body=urlencode(form),
                             headers=customer("o1", form=True))
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    order_id = first.headers["Location"].split("/products/orders/")[1].split("?")[0]
    redemption = store.get_order(order_id)
    # valued at the last published net value (none yet: par), carrying its share of the cost
    assert (redemption.kind, redemption.units_e2, redemption.amount_fen, redemption.cost_fen) == (
        "redemption", 50_000, 50_000, 51_170)
    assert store.get_holding("o1", "WM0100").units_e2 == 47_713  # the units being redeemed are out
    page = client.http.get(f"/products/orders/{order_id}", headers=customer("o1")).body.decode()
    assert "data-settles" in page and "12月1日 周二" in page  # traded Monday 30 November, paid Tuesday
    answer(results, redemption, "CONFIRMED")
    held_now = store.get_holding("o1", "WM0100")
    assert (held_now.units_e2, held_now.cost_fen) == (47_713, 48_830)


def test_a_failed_redemption_gives_the_units_back(held, results):
    redemption = actions.redeem("o1", "WM0100", 97_713, "f" * 32)
    assert store.get_holding("o1", "WM0100").units_e2 == 0 and actions.mine("o1").positions == []
    answer(results, redemption, "FAILED", reason="系统维护")
    back = store.get_holding("o1", "WM0100")
    assert (back.units_e2, back.cost_fen) == (97_713, 100_000)


def test_redemption_refusals(held, shop):
    def refused(**kw) -> ApiError:
        with pytest.raises(ApiError) as caught:
            actions.redeem(kw.get("openid", "o1"), kw.get("code", "WM0100"), kw.get("units", 100), "z" * 32)
        return caught.value

    assert [f.code for f in refused(units=97_714).fields] == ["above_holding"]
    assert [f.code for f in refused(units=0).fields] == ["invalid_units"]
    assert refused(openid="o_other").status == 404
    load(row(code="WM0300", min_purchase_fen=100, increment_fen=100))
    buyer("o2")
    assert refused(code="WM0300").status == 404  # not held
    assert store.get_holding("o1", "WM0100").units_e2 == 97_713

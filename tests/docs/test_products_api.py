"""products' routes answer what docs/api/products.yaml documents."""
from __future__ import annotations

import pytest
from chalice.test import Client

from scripts import openapi_check as oc
from tests.docs.conformance import fetched
from tests.products.conftest import MONDAY_10AM, load, row

SPEC = oc.load("products")


@pytest.fixture
def client(aws, frozen_clock):
    from functions.products import actions, service
    from functions.products.app import app

    frozen_clock(MONDAY_10AM)
    load(row(code="DOC001", kind="open", risk="R3", term_days=0), row(code="DOC002"))
    actions.stage_net_values([service.read_net_value({"code": "DOC001", "date": "2026-11-27", "nav": "1.0123"})])
    actions.publish_net_values()
    with Client(app) as c:
        yield c


def test_json_routes_match_the_documented_answers(client):
    status, found = fetched(SPEC, client, "/products/api/products", "/products/api/products?risk=R3&term=none")
    assert status == 200 and [p["code"] for p in found["products"]] == ["DOC001"]
    status, one = fetched(SPEC, client, "/products/api/products/{code}", "/products/api/products/DOC001")
    assert status == 200 and one["net_values"] == [{"date": "2026-11-27", "nav": "1.0123"}]
    status, bare = fetched(SPEC, client, "/products/api/products/{code}", "/products/api/products/DOC002")
    assert status == 200 and bare["product"]["nav"] is None and bare["net_values"] == []
    assert fetched(SPEC, client, "/products/health", "/products/health") == (200, {"status": "ok"})


def test_refusals_match_the_documented_error_shape(client):
    status, bad = fetched(SPEC, client, "/products/api/products", "/products/api/products?risk=R0")
    assert (status, bad["fields"][0]["field"]) == (400, "risk")
    status, bad = fetched(SPEC, client, "/products/api/products/{code}", "/products/api/products/NOPE01")
    assert (status, bad["code"]) == (404, "not_found")


def test_the_purchase_code_route_answers_as_documented(client):
    import json

    from tests.products.buyers import bind, ready
    from tests.sessions import customer

    template = "/products/api/purchase-codes"

    def ask(card_ref: str):
        response = client.http.post(template, headers=customer("o1"),
                                    body=json.dumps({"product": "DOC002", "card_ref": card_ref}))
        return response.status_code, oc_conforms(response)

    def oc_conforms(response):
        from tests.docs.conformance import conforms

        return conforms(SPEC, "POST", template, response)

    status, refused = ask("d1")
    assert (status, refused["code"]) == (403, "not_assessed")
    ready("o1")
    status, refused = ask("d1")
    assert (status, refused["fields"][0]["code"]) == (400, "card_unknown")
    bind("o1", "d1")
    status, sent = ask("d1")
    assert (status, sent["phone"], sent["resend_in"]) == (201, "138****5678", 60)
    status, again = ask("d1")
    assert (status, again["code"]) == (429, "otp_rate_limited")

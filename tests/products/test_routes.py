"""products' pages and JSON through Chalice's test client: the catalogue and its filters,
a product with its net value chart (inline SVG), refusals; open to anyone."""
from __future__ import annotations

import json
import re

from functions.products import actions, service
from tests.products.conftest import load, row


def publish(code: str, navs: list[str], start_day: int = 20) -> None:
    values = [service.read_net_value({"code": code, "date": f"2026-11-{start_day + i:02d}", "nav": nav})
              for i, nav in enumerate(navs)]
    actions.stage_net_values(values)
    actions.publish_net_values()


def test_the_catalogue_lists_what_is_on_sale_and_filters_it(world, client):
    load(row(code="WM0091"), row(code="WM0400", risk="R3", term_days=400), row(code="CASH01", kind="cash",
         risk="R1", term_days=0), row(code="CLOSED1", status="closed"))
    page = client.http.get("/products")  # no session: anyone may look
    assert page.status_code == 200
    html = page.body.decode()
    assert re.findall(r'data-product="(\w+)"', html) == ["CASH01", "WM0091", "WM0400"]
    assert "2.30%–2.90%" in html and "¥1,000.00起购" in html and "业绩比较基准不代表" in html
    r3 = client.http.get("/products?risk=R3").body.decode()
    assert re.findall(r'data-product="(\w+)"', r3) == ["WM0400"]
    assert re.search(r'class="chip on" data-risk="R3"', r3)
    none = client.http.get("/products?risk=R1&term=long").body.decode()
    assert "data-product=" not in none and "data-empty" in none
    api = json.loads(client.http.get("/products/api/products?term=none").body)
    assert [p["code"] for p in api["products"]] == ["CASH01"] and api["products"][0]["term"] == "无固定期限"


def test_unknown_filters_are_refused_field_by_field(world, client):
    page = client.http.get("/products?risk=R9")
    assert page.status_code == 400 and "请选择R1–R5的风险等级" in page.body.decode()
    api = client.http.get("/products/api/products?risk=R9&term=x")
    body = json.loads(api.body)
    assert api.status_code == 400 and {f["field"] for f in body["fields"]} == {"risk", "term"}


def test_a_product_page_charts_its_net_values_as_inline_svg(world, client):
    load(row(code="OPEN01", kind="open", risk="R4", term_days=0))
    publish("OPEN01", ["1.0000", "1.0100", "0.9950", "1.0234"])
    html = client.http.get("/products/p/OPEN01").body.decode()
    points = re.search(r'<polyline points="([^"]+)"', html).group(1).split()
    assert len(points) == 4
    ys = [float(p.split(",")[1]) for p in points]
    assert ys[3] == min(ys) and ys[2] == max(ys)  # the highest value at the top of the box
    assert "最高 1.0234" in html and "最低 0.9950" in html and "2026-11-20" in html and "2026-11-23" in html
    assert "1.0234（2026-11-23）" in html
    assert "style=" not in html.split("</head>")[1]  # the CSP allows no style attribute
    api = json.loads(client.http.get("/products/api/products/OPEN01").body)
    assert api["product"]["nav"] == "1.0234" and [v["nav"] for v in api["net_values"]][-1] == "1.0234"


def test_a_product_without_net_values_says_so(world, client):
    load(row())
    html = client.http.get("/products/p/WM0091").body.decode()
    assert "data-no-chart" in html and "<svg" not in html


def test_unknown_or_unlisted_products_are_not_found(world, client):
    load(row(code="CLOSED1", status="closed"))
    for path in ("/products/p/NOPE01", "/products/p/CLOSED1", "/products/p/bad%20code"):
        assert client.http.get(path).status_code == 404, path
    api = client.http.get("/products/api/products/NOPE01")
    assert api.status_code == 404 and json.loads(api.body)["code"] == "not_found"


def test_a_product_page_tells_a_signed_in_customer_what_stands_before_buying(world, client):
    from functions.products import store
    from infra.local.demo import products as demo
    from tests.sessions import customer

    load(row(code="WM0091", risk="R2"), row(code="OPEN04", kind="open", risk="R4", term_days=0))

    def readiness(code: str, headers: dict | None = None) -> str:
        html = client.http.get(f"/products/p/{code}", headers=headers or {}).body.decode()
        return re.search(r'data-readiness="(\w+)"', html).group(1)

    assert readiness("WM0091") == "sign_in"  # anyone may look
    assert readiness("WM0091", customer("o1")) == "assess"
    actions.assess("o1", {f"q{n}": "3" for n in range(1, 11)})  # C3
    store.publish_agreement("v1", demo.AGREEMENT)
    assert readiness("WM0091", customer("o1")) == "agreement"
    html = client.http.get("/products/p/OPEN04", headers=customer("o1")).body.decode()
    assert 'data-readiness="above_level"' in html and "R4 中高风险，高于您的风险承受能力（C3 平衡型）" in html
    current = store.current_agreement()
    actions.accept("o1", {"agree": "true", "version": current.version, "sha256": current.sha256}, "10.0.0.1", "UA")
    assert readiness("WM0091", customer("o1")) == "ready"
    assert readiness("OPEN04", customer("o1")) == "above_level"


def test_a_products_documents_are_shown_at_their_current_version(world, client):
    load(row())
    page = client.http.get("/products/p/WM0091").body.decode()
    assert re.findall(r'data-document="(\w+)"', page) == ["prospectus", "risk_disclosure", "sales_agreement"]
    shown = client.http.get("/products/p/WM0091/documents/risk_disclosure").body.decode()
    assert "风险揭示书正文" in shown and 'data-version="v1"' in shown
    load(row(documents_version="v2", risk_disclosure="新版风险揭示书"))
    shown = client.http.get("/products/p/WM0091/documents/risk_disclosure").body.decode()
    assert "新版风险揭示书" in shown and 'data-version="v2"' in shown
    for path in ("/products/p/WM0091/documents/manual", "/products/p/NOPE01/documents/prospectus"):
        assert client.http.get(path).status_code == 404, path

"""products: Chalice glue. Routes parse input, call actions and shape the answer.

Pages (anyone): /products (the catalogue, filtered by risk level and term) →
/products/p/{code} (a product, its documents, its net value chart). JSON: /products/api/...
The nightly schedule publishes the day's imported net values.
"""
from functions.common import http
from functions.common.http import Field
from functions.products import actions, screens, service

app = http.FeatureApp(app_name="products")
FILTERS = {"risk": Field(8), "term": Field(16)}


@app.route("/products/health")
def health():
    return {"status": "ok"}


# ----- pages -------------------------------------------------------------------------------

@app.route("/products")
def catalogue_page():
    return http.html_response(screens.catalogue(http.query(app.current_request, FILTERS)))


@app.route("/products/p/{code}")
def product_page(code):
    return http.html_response(screens.product(code))


# ----- JSON --------------------------------------------------------------------------------

@app.route("/products/api/products")
def api_catalogue():
    risk, term = service.filters(http.query(app.current_request, FILTERS))
    return {"products": [screens.describe(listed) for listed in actions.catalogue(risk, term)]}


@app.route("/products/api/products/{code}")
def api_product(code):
    listed, history = actions.product(code)
    return {"product": screens.describe(listed),
            "net_values": [{"date": v.day.isoformat(), "nav": service.show_nav(v.nav_e4)} for v in history]}


# ----- schedule ----------------------------------------------------------------------------

@app.lambda_function(name="net_values")
def net_values(event, context):
    """22:00 Asia/Shanghai: the day's imported net values become the products' last ones."""
    return {"published": actions.publish_net_values()}

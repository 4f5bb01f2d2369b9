"""loan_apply's routes and table as serverless.yml declares them."""
from functions.loan_apply import store
from functions.loan_apply.app import app
from tests.conftest import CONFIG


def test_every_route_is_wired_once_and_every_wired_route_exists():
    chalice = {(method, path) for path, entry in app.routes.items() for method in entry}
    wired = CONFIG.functions["loanApplyApi"].http_events()
    assert len(wired) == len(set(wired))
    assert chalice == set(wired)


def test_the_table_has_the_indexes_the_models_query():
    props = CONFIG.resources["ApplicationsTable"]["Properties"]
    declared = {i["IndexName"]: (sorted(map(str, i["KeySchema"])), i["Projection"]["ProjectionType"])
                for i in props["GlobalSecondaryIndexes"]}
    schemas = [index._get_schema() for index in (store.Application.by_openid, store.Application.by_applicant,
                                                  store.Application.queue, store.Application.queue_by_product)]
    model = {s["index_name"]: (sorted(map(str, s["key_schema"])), s["projection"]["ProjectionType"]) for s in schemas}
    assert declared == model
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}

"""loan_apply's table as serverless.yml declares it: the indexes the models query, and TTL.
(Its routes are checked with every feature's in tests/infra/test_local_wiring.py.)"""
from functions.loan_apply import store
from tests.conftest import CONFIG


def test_the_table_has_the_indexes_the_models_query():
    props = CONFIG.resources["ApplicationsTable"]["Properties"]
    declared = {i["IndexName"]: (sorted(map(str, i["KeySchema"])), i["Projection"]["ProjectionType"])
                for i in props["GlobalSecondaryIndexes"]}
    schemas = [index._get_schema() for index in (store.Application.by_openid, store.Application.queue,
                                                  store.Application.queue_by_product)]
    model = {s["index_name"]: (sorted(map(str, s["key_schema"])), s["projection"]["ProjectionType"]) for s in schemas}
    assert declared == model
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}

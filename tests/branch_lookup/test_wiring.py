"""serverless.yml wires exactly the Chalice routes, and the tables are defined as the
platform's are (on demand, PITR, SSE with the PII key, TTL where items expire)."""
from __future__ import annotations

from infra.local import slsconfig

CONFIG = slsconfig.load("local")


def test_http_events_match_the_chalice_routes():
    from functions.branch_lookup.app import app

    routes = {(method, path) for path, entries in app.routes.items() for method in entries}
    wired = set(CONFIG.functions["branchLookupApi"].http_events())
    assert wired == routes
    assert all(path.startswith("/branches/") for _m, path in wired)


def test_tables():
    tables = CONFIG.resources_of_type("AWS::DynamoDB::Table")
    for logical in ("BranchesTable", "UserLocationsTable"):
        props = tables[logical]["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"]["KMSMasterKeyId"] == {"Ref": "PiiKey"}
    assert tables["UserLocationsTable"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at", "Enabled": True}


def test_query_and_intent_handlers_are_wired():
    assert CONFIG.functions["branchLookupQuery"].handler == "functions/branch_lookup/app.query"
    assert CONFIG.functions["branchLookupIntent"].handler == "functions/branch_lookup/app.intent"

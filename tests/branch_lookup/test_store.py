"""branch_lookup's tables as serverless.yml declares them: the platform's settings (on demand,
PITR, SSE with the PII key) and TTL where items expire. (Its routes are checked with every
feature's in tests/infra/test_local_wiring.py.)"""
from __future__ import annotations

from infra.local import slsconfig

CONFIG = slsconfig.load("local")


def test_tables():
    tables = CONFIG.resources_of_type("AWS::DynamoDB::Table")
    for logical in ("BranchesTable", "UserLocationsTable"):
        props = tables[logical]["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"]["KMSMasterKeyId"] == {"Ref": "PiiKey"}
    assert tables["UserLocationsTable"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at", "Enabled": True}

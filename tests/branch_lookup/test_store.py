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


class Requests:
    """The DynamoDB operations the models send, and the items each returned (botocore's
    after-call events)."""

    def __init__(self) -> None:
        from functions.common import aws as common_aws

        self.client, self.seen, self.items = common_aws.dynamodb(), [], []

    def after(self, model, parsed, **_kw) -> None:
        self.seen.append(model.name)
        returned = sum(len(v) for v in (parsed.get("Responses") or {}).values())
        self.items.append(returned + (1 if parsed.get("Item") else 0))

    def __enter__(self) -> list[str]:
        self.client.meta.events.register("after-call.dynamodb", self.after)
        return self.seen

    def __exit__(self, *exc) -> None:
        self.client.meta.events.unregister("after-call.dynamodb", self.after)


def test_a_text_search_reads_the_catalogue_and_its_matches_not_the_table(demo):
    """The first reply to "鄞州" waits on two small reads, not a Scan of every branch and
    every cell bucket."""
    from functions.branch_lookup import service, store

    with Requests() as seen:
        found = service.search(store, service.parse("鄞州"))
    assert found and {b["district"] for b in found} == {"鄞州区"}
    assert all(b["hours"] for b in found)  # whole records, as the reply shows them
    assert seen == ["GetItem", "BatchGetItem"]


def test_the_catalogue_follows_upserts_across_shards(aws, monkeypatch):
    """Shards fill one after another; a branch saved again stays listed once, in its shard,
    with its new fields; a search finds it by its new name only."""
    from functions.branch_lookup import service, store
    from tests.branch_lookup.conftest import make_branch

    monkeypatch.setattr(store, "CATALOGUE_SHARD_BRANCHES", 2)
    store.save_all([make_branch(f"S{n}", 29.87 + n / 100, 121.55) for n in range(3)])
    store.save_all([make_branch(f"S{n}", 29.87 + n / 100, 121.55) for n in range(3, 5)])
    assert [b["id"] for b in store.catalogue()] == ["S0", "S1", "S2", "S3", "S4"]
    assert int(store.CatalogueRecord.get("search#0").shards) == 3
    assert [store.BranchRecord.get(f"S{n}").shard for n in range(5)] == [0, 0, 1, 1, 2]

    store.save_all([make_branch("S1", 29.88, 121.55, name="甬城银行改名支行")])
    listed = store.catalogue()
    assert [b["id"] for b in listed] == ["S0", "S1", "S2", "S3", "S4"]
    assert listed[1]["name"] == "甬城银行改名支行" and store.BranchRecord.get("S1").shard == 0
    assert [b["id"] for b in service.search(store, service.parse("改名"))] == ["S1"]
    assert service.search(store, service.parse("测试S1")) == []


def test_the_catalogue_and_the_cell_buckets_are_no_branch_to_read(demo):
    """`/branches/view/search%230` or a query for "cell#…" ids finds nothing: only branch
    records are branches."""
    from functions.branch_lookup import store

    cell = next(r.id for r in store.CellRecord.scan() if r.id.startswith(store.CELL_PREFIX))
    assert store.get(["search#0", cell]) == []
    assert store.get_one("search#0") is None and store.CatalogueRecord.get("search#0").branches

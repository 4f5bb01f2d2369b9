"""Personal data sealed by one feature does not open under another's encryption context,
whatever the caller passes: pii.seal/unseal add the function's own feature to the context
(PII_CONTEXT_FEATURE, from infra/functions/*.yml), and KMS refuses a context that differs.
The IAM side (each role may use the key only under its feature) is checked in test_iam.py."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from functions.common import config, pii


@pytest.fixture
def as_feature(aws, monkeypatch):
    def switch(feature: str | None, stage: str = "local") -> None:
        if feature:
            monkeypatch.setenv("PII_CONTEXT_FEATURE", feature)
        else:
            monkeypatch.delenv("PII_CONTEXT_FEATURE", raising=False)
        monkeypatch.setenv("STAGE", stage)
        config.reset()

    yield switch
    config.reset()


def test_a_blob_sealed_by_booking_does_not_open_with_loan_applys_context(as_feature):
    as_feature("booking")
    blob = pii.seal({"name": "张三", "mobile": "13800000000"}, {"booking_id": "B1"})
    assert pii.unseal(blob, {"booking_id": "B1"}) == {"name": "张三", "mobile": "13800000000"}
    as_feature("loan_apply")
    with pytest.raises(ClientError) as refused:
        pii.unseal(blob, {"booking_id": "B1"})
    assert refused.value.response["Error"]["Code"] == "InvalidCiphertextException"


def test_a_caller_cannot_seal_for_another_feature(as_feature):
    """The function's own feature wins over a `feature` the caller writes in the context."""
    as_feature("booking")
    blob = pii.seal({"name": "张三"}, {"booking_id": "B1", "feature": "loan_apply"})
    as_feature("loan_apply")
    with pytest.raises(ClientError):
        pii.unseal(blob, {"booking_id": "B1"})
    as_feature("booking")
    assert pii.unseal(blob, {"booking_id": "B1"}) == {"name": "张三"}


def test_a_deployed_function_without_its_feature_seals_nothing(as_feature):
    as_feature(None, stage="dev")
    with pytest.raises(RuntimeError, match="PII_CONTEXT_FEATURE"):
        pii.seal({"name": "张三"}, {"booking_id": "B1"})

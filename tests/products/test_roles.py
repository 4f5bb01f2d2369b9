"""products' roles, read from the packaged template: the records of assessments and
acceptances are append-only for every function (no role may change or delete one), and only
the API appends them."""
from __future__ import annotations

import pytest

from tests.infra.test_iam import grants, role_of
from tests.infra.test_package import packaged  # noqa: F401 - shared fixture

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("package")]


def test_records_are_appended_by_the_api_alone_and_changed_by_no_role(packaged):  # noqa: F811
    writers = {}
    for key in packaged.config.functions:
        actions = set().union(*(g.actions for g in grants(packaged, role_of(packaged, key)[1])
                                if g.name == "ProductRecordsTable"))
        assert not actions & {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}, key
        if "dynamodb:PutItem" in actions:
            writers[key] = actions
    assert writers == {"productsApi": {"dynamodb:PutItem", "dynamodb:Query"}}

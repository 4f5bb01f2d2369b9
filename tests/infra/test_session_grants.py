"""Who may touch customers' sessions, read from the packaged template: only the webhook makes
them (login) and ends one (logout); each feature API that serves customers reads them;
notify, which ends all of a customer's sessions (unfollow, last card unbound), queries and
deletes them; no role changes a session in place."""
from __future__ import annotations

import pytest

from tests.infra.test_iam import grants, role_of
from tests.infra.test_package import packaged  # noqa: F401 - shared fixture

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("package")]

EXPECTED = {
    "webhook": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"},
    "bookingApi": {"dynamodb:GetItem"},
    "loanApplyApi": {"dynamodb:GetItem"},
    "notifyApi": {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:DeleteItem"},
    "notifyIntent": {"dynamodb:Query", "dynamodb:DeleteItem"},
    "productsApi": {"dynamodb:GetItem"},
}


def test_only_the_webhook_makes_sessions_and_features_read_them(packaged):  # noqa: F811
    found = {}
    for key in packaged.config.functions:
        actions = set().union(*(g.actions for g in grants(packaged, role_of(packaged, key)[1])
                                if g.kind == "table" and g.name == "SessionsTable"))
        if actions:
            found[key] = actions
    assert found == EXPECTED

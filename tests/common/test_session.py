"""Sessions in the domain: what a page needs of a session costs no read of the stage's
secrets, and the CSRF token reveals nothing the server keeps."""
from __future__ import annotations

import hashlib

from functions.common import aws as common_aws
from functions.common import config, session


def test_a_sessions_csrf_token_needs_no_secret_of_the_stage(aws, monkeypatch):
    """A page's first render reads the session (one GetItem) and no secret: the token is
    derived from the session's own 256-bit secret."""
    started = session.start("o_csrf_owner")

    def no_secret(name):
        raise AssertionError(f"a page's CSRF token read the secret {name}")

    monkeypatch.setattr(config, "secret", no_secret)
    found = session.find(started.cookie_value)
    assert found is not None and session.csrf_ok(found, started.csrf_token)


def test_a_csrf_token_is_its_sessions_own_and_not_what_the_table_keeps(aws):
    first, second = session.start("o_csrf_a"), session.start("o_csrf_a")
    assert first.csrf_token != second.csrf_token
    assert not session.csrf_ok(second, first.csrf_token)
    table = config.settings().table("sessions")
    items = common_aws.dynamodb().query(TableName=table, KeyConditionExpression="pk = :pk",
                                        ExpressionAttributeValues={":pk": {"S": first.customer_key}})["Items"]
    kept = {item["sk"]["S"] for item in items}
    assert len(kept) == 2
    assert first.csrf_token not in kept and second.csrf_token not in kept
    assert hashlib.sha256(first.secret.encode()).hexdigest() not in first.csrf_token

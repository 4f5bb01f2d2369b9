"""The roster's branch ids, for the branch picker, read through the container's DynamoDB
client. The picker is booking's first page: PynamoDB (its import and its query machinery)
cost it a fifth of its cold start, so this one read of the roster goes without it; the
roster's model and every other read are in store.py."""
from __future__ import annotations

from functions.common import aws, config

ROSTER = "ROSTER"  # the roster's partition (store.RosterEntry)


def branch_ids() -> list[str]:
    """The branches with a customer manager on the roster, sorted."""
    found = aws.partition(config.settings().table("bookings"), ROSTER, projection="branch_id")
    return sorted({item["branch_id"]["S"] for item in found})

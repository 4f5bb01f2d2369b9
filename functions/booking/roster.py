"""The roster's branch ids, for the branch picker, read through the container's DynamoDB
client. The picker is booking's first page: PynamoDB (its import and its query machinery)
cost it a fifth of its cold start, so this one read of the roster goes without it; the
roster's model and every other read are in store.py."""
from __future__ import annotations

from typing import Any

from functions.common import aws, config

ROSTER = "ROSTER"  # the roster's partition (store.RosterEntry)


def branch_ids() -> list[str]:
    """The branches with a customer manager on the roster, sorted."""
    asked: dict[str, Any] = {"TableName": config.settings().table("bookings"), "KeyConditionExpression": "pk = :pk",
                             "ExpressionAttributeValues": {":pk": {"S": ROSTER}}, "ProjectionExpression": "branch_id"}
    found: set[str] = set()
    while True:
        page = aws.dynamodb().query(**asked)
        found.update(item["branch_id"]["S"] for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return sorted(found)
        asked["ExclusiveStartKey"] = page["LastEvaluatedKey"]

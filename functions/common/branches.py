"""Branch data as branch_lookup publishes it to the other features: its `branchLookupQuery`
function, invoked synchronously. Other features never import branch_lookup nor read its
tables.

Requests (JSON):
  {"op": "get", "ids": ["NB001", ...]}
  {"op": "list", "ids": [...], "bookable": true, "openid": "o..."}   # summaries (every field
      optional): each with "distance_m" from the user's last location, when known
  {"op": "nearest", "lat": 29.87, "lng": 121.55, "k": 5, "service": "loans", "bookable": true}
  {"op": "nearest", "openid": "o...", "k": 5, "bookable": true}   # from the user's last location
  {"op": "list", "lat": 29.87, "lng": 121.55, "datum": "wgs84", ...}   # distances from a
      browser's point (WGS-84; GCJ-02 when no datum)
Answer: {"branches": [...]}: Branches (get, nearest: closest first, with "distance_m") or
Summaries (list); the openid forms also say whether the location was known ("located";
nearest then answers []).

Summary: {"id", "name", "kind", "address", "district", "city", "services", "bookable", "lat",
  "lng"}, read from one catalogue (a list costs a read or two, not one per branch).
Branch: {"id", "name", "kind": "branch|sub_branch|self_service", "address", "district",
  "city", "phone", "lat", "lng" (GCJ-02), "services": [...], "bookable": bool,
  "hours": {"mon": [["09:00", "12:00"], ["13:30", "17:00"]], ..., "sun": []},
  "exceptions": [{"date": "2026-10-01", "hours": [], "note": "国庆节休息"}]}
Hours are Asia/Shanghai wall times.
"""
from __future__ import annotations

from typing import Any

from functions.common import aws

FUNCTION = "branchLookupQuery"
TIMEOUT_S = 3.0


def show_distance(metres: float) -> str:
    """A branch's `distance_m` as customers read it: 850米 below a kilometre, 1.2公里
    above, whole kilometres from 10 km."""
    if metres < 995:
        return f"{max(10, round(metres / 10) * 10)}米"
    return f"{metres / 1000:.1f}公里" if metres < 9950 else f"{round(metres / 1000)}公里"


def get(ids: list[str]) -> list[dict[str, Any]]:
    return aws.invoke(FUNCTION, {"op": "get", "ids": list(ids)}, TIMEOUT_S)["branches"]


def summaries(ids: list[str], *, bookable: bool | None = None, openid: str | None = None,
              lat: float | None = None, lng: float | None = None, datum: str | None = None) -> list[dict[str, Any]]:
    """Summaries of branches by id; each with its `distance_m` from a point (GCJ-02 unless
    `datum` says wgs84 or bd09) or, with `openid`, from the user's last reported location
    when there is one."""
    request: dict[str, Any] = {"op": "list", "ids": list(ids)}
    for key, value in (("bookable", bookable), ("openid", openid), ("lat", lat), ("lng", lng), ("datum", datum)):
        if value is not None:
            request[key] = value
    return aws.invoke(FUNCTION, request, TIMEOUT_S)["branches"]


def nearest(k: int = 5, *, lat: float | None = None, lng: float | None = None, openid: str | None = None,
            service: str | None = None, bookable: bool | None = None) -> list[dict[str, Any]]:
    """Nearest branches to a point, or to the user's last reported location ([] if unknown)."""
    request: dict[str, Any] = {"op": "nearest", "k": k}
    for key, value in (("lat", lat), ("lng", lng), ("openid", openid), ("service", service), ("bookable", bookable)):
        if value is not None:
            request[key] = value
    return aws.invoke(FUNCTION, request, TIMEOUT_S)["branches"]

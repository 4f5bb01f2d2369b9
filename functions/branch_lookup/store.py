"""Branch records, the cell buckets of the spatial index, the search catalogue, and users'
last locations.

One table holds branches (`id` = branch id), cell buckets (`id` = "cell#<geohash>", a string
set of encoded entries; see spatial.py) and the search catalogue (`id` = "search#<n>": the
searchable fields of up to CATALOGUE_SHARD_BRANCHES branches each; shard 0 says how many
there are). A nearest lookup is one BatchGetItem per index level plus one for the branches
it returns, whatever the table's size; a text search reads the catalogue (one GetItem for
the bank's few hundred branches) and the branches it matches, where a Scan would walk every
cell bucket too. Writes go through `save_all`, which updates buckets and the catalogue
before branch records (a branch record remembers its shard), so an interrupted run leaves
nothing a re-run does not repair.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)

from functions.branch_lookup.spatial import Entry, cells_of
from functions.common import dynamo
from functions.common.dynamo import Model, TTLAttribute, table_meta

CELL_PREFIX = "cell#"
CATALOGUE_PREFIX = "search#"
# ~150 bytes of searchable fields a branch: a shard stays well under DynamoDB's 400 KB item
CATALOGUE_SHARD_BRANCHES = 1000
# What the catalogue lists of each branch: what text search matches, and what a list of
# branches shows (booking's picker), so neither reads every branch's record.
CATALOGUE_FIELDS = ("name", "kind", "address", "district", "city", "services", "bookable", "lat", "lng")
LOCATION_TTL_S = 24 * 3600
PUBLIC_FIELDS = ("id", "name", "kind", "address", "district", "city", "phone", "lat", "lng", "services",
                 "bookable", "hours", "exceptions")


class BranchRecord(Model):
    Meta = table_meta("branches")
    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    kind = UnicodeAttribute()
    address = UnicodeAttribute()
    district = UnicodeAttribute()
    city = UnicodeAttribute()
    phone = UnicodeAttribute(default="")
    lat = NumberAttribute()
    lng = NumberAttribute()
    services = ListAttribute(of=UnicodeAttribute, default=list)
    bookable = BooleanAttribute(default=False)
    hours = JSONAttribute(default=dict)
    exceptions = JSONAttribute(default=list)
    entry = UnicodeAttribute()  # as listed in the cell buckets, to unlist it when it changes
    shard = NumberAttribute(null=True)  # the catalogue shard that lists it

    def as_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in PUBLIC_FIELDS}
        out["lat"], out["lng"] = float(self.lat), float(self.lng)
        out["services"] = list(self.services or [])
        return out


class CellRecord(Model):
    Meta = table_meta("branches")
    id = UnicodeAttribute(hash_key=True)
    members = UnicodeSetAttribute(null=True)


class CatalogueRecord(Model):
    Meta = table_meta("branches")
    id = UnicodeAttribute(hash_key=True)
    branches = JSONAttribute(default=dict)  # {branch id: [its CATALOGUE_FIELDS]}
    shards = NumberAttribute(null=True)  # on shard 0: how many there are


def _shard_key(n: int) -> str:
    return f"{CATALOGUE_PREFIX}{n}"


class UserLocation(Model):
    Meta = table_meta("user_locations")
    openid = UnicodeAttribute(hash_key=True)
    lat = NumberAttribute()
    lng = NumberAttribute()
    expires_at = TTLAttribute()


def get(ids: Iterable[str]) -> list[dict[str, Any]]:
    """Branches by id, in the order asked; unknown ids are skipped."""
    wanted = list(dict.fromkeys(i for i in ids if i and "#" not in i))  # no bucket, no catalogue
    if not wanted:
        return []
    found = {r.id: r.as_dict() for r in BranchRecord.batch_get(wanted)}
    return [found[i] for i in wanted if i in found]


def get_one(branch_id: str) -> dict[str, Any] | None:
    found = get([branch_id])
    return found[0] if found else None


def catalogue() -> list[dict[str, Any]]:
    """Every branch's CATALOGUE_FIELDS and its id, as save_all listed them."""
    return [{"id": branch_id, **dict(zip(CATALOGUE_FIELDS, fields, strict=True))}
            for shard in _shards() for branch_id, fields in shard.branches.items()]


def _shards() -> list[CatalogueRecord]:
    """The catalogue's shards in order (none before the first import): shard 0, which says
    how many there are, then the others in one BatchGetItem (a missing one as empty)."""
    try:
        head = CatalogueRecord.get(_shard_key(0))
    except CatalogueRecord.DoesNotExist:
        return []
    keys = [_shard_key(n) for n in range(1, int(head.shards or 1))]
    found = {r.id: r for r in CatalogueRecord.batch_get(keys)} if keys else {}
    return [head, *(found.get(key) or CatalogueRecord(key, branches={}) for key in keys)]


def cell_entries(cells: list[str]) -> list[Entry]:
    """The entries listed in these cells' buckets (one batch read)."""
    keys = [CELL_PREFIX + c for c in cells]
    return [Entry.decode(m) for record in CellRecord.batch_get(keys) for m in (record.members or ())]


def _entry_cells(entry: str) -> list[str]:
    decoded = Entry.decode(entry)
    return cells_of(decoded.lat, decoded.lng)


def save_all(branches: list[dict[str, Any]]) -> int:
    """Upsert validated branches by id (bulk: batch reads and writes). One writer at a time:
    buckets are read, merged and written back."""
    by_id = {b["id"]: b for b in branches}
    if not by_id:
        return 0
    old = {r.id: r for r in BranchRecord.batch_get(list(by_id), attributes_to_get=["id", "entry", "shard"])}
    adds: dict[str, set[str]] = defaultdict(set)
    removes: dict[str, set[str]] = defaultdict(set)
    for branch_id, branch in by_id.items():
        new_entry, old_entry = Entry.of(branch).encode(), old[branch_id].entry if branch_id in old else None
        if new_entry == old_entry:
            continue
        if old_entry:
            for cell in _entry_cells(old_entry):
                removes[cell].add(old_entry)
        for cell in cells_of(branch["lat"], branch["lng"]):
            adds[cell].add(new_entry)
    touched = sorted(set(adds) | set(removes))
    current = {r.id[len(CELL_PREFIX):]: set(r.members or ()) for r in
               CellRecord.batch_get([CELL_PREFIX + c for c in touched])} if touched else {}
    with CellRecord.batch_write() as batch:
        for cell in touched:
            members = (current.get(cell, set()) - removes[cell]) | adds[cell]
            if members:
                batch.save(CellRecord(CELL_PREFIX + cell, members=members))
            else:
                batch.delete(CellRecord(CELL_PREFIX + cell))
    shards = _list(by_id, {branch_id: record.shard for branch_id, record in old.items()})
    with BranchRecord.batch_write() as batch:
        for branch in by_id.values():
            fields = {name: branch[name] for name in PUBLIC_FIELDS if name != "id"}
            batch.save(BranchRecord(branch["id"], entry=Entry.of(branch).encode(), shard=shards[branch["id"]],
                                    **fields))
    return len(by_id)


def _list(by_id: dict[str, dict[str, Any]], listed: dict[str, Any]) -> dict[str, int]:
    """List the branches in the search catalogue: each in the shard that lists it already,
    a new one in the last shard with room. Returns {branch id: shard}."""
    shards = _shards() or [CatalogueRecord(_shard_key(0), branches={})]
    placed = {}
    for branch_id, branch in by_id.items():
        n = listed.get(branch_id)
        if n is None or int(n) >= len(shards):
            if len(shards[-1].branches) >= CATALOGUE_SHARD_BRANCHES:
                shards.append(CatalogueRecord(_shard_key(len(shards)), branches={}))
            n = len(shards) - 1
        shards[int(n)].branches[branch_id] = [branch[name] for name in CATALOGUE_FIELDS]
        placed[branch_id] = int(n)
    shards[0].shards = len(shards)
    touched = set(placed.values()) | {0}
    with CatalogueRecord.batch_write() as batch:
        for n in sorted(touched):
            batch.save(shards[n])
    return placed


def save_location(openid: str, lat: float, lng: float) -> None:
    UserLocation(openid, lat=lat, lng=lng, expires_at=dynamo.expires_in(LOCATION_TTL_S)).save()


def last_location(openid: str) -> tuple[float, float] | None:
    """The user's last reported location, if reported within a day."""
    try:
        found = UserLocation.get(openid)
    except UserLocation.DoesNotExist:
        return None
    if not dynamo.is_live(int(found.expires_at)):
        return None
    return float(found.lat), float(found.lng)

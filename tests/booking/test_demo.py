"""The demo roster: every bookable demo branch takes bookings for at least one service,
loading twice changes nothing."""
import json

from functions.booking import actions, roster, store
from infra.local.demo import booking as booking_demo
from infra.local.demo import branch_lookup


def test_demo_roster_covers_every_bookable_branch_and_is_idempotent(aws):
    branch_lookup.load()
    written = booking_demo.load()
    assert booking_demo.load() == written
    rows = json.loads(branch_lookup.DATA.read_text(encoding="utf-8"))
    bookable = sorted(r["id"] for r in rows if r["bookable"])
    assert roster.branch_ids() == bookable
    assert sum(len(store.roster(b)) for b in bookable) == written
    for branch_id in bookable:
        assert "account" in actions.place(branch_id).services

"""What branch lookup's H5 pages show: one branch (today's status, the coming week's hours,
its services) and a search's results."""
from __future__ import annotations

from pathlib import Path

from functions.branch_lookup import actions, service
from functions.common import clock, pages

PAGES = Path(__file__).parent / "pages"


def branch(branch_id: str) -> str:
    found = actions.branch(branch_id)
    week = [{**day, "label": clock.show_date(day["date"])} for day in service.opening_week(found)]
    return pages.render(PAGES, "branch.html", branch=found, status=service.opening_status(found),
                        week=week, **service.labels())


def search(q: str) -> str:
    """The results page of `q` (cut to the longest query searched); empty `q`, no results."""
    q = q.strip()[: service.MAX_QUERY]
    found = actions.search(q) if q else []
    return pages.render(PAGES, "list.html", q=q, branches=found,
                        **service.labels())

"""The local stack's demo applications."""
from functions.loan_apply import actions
from infra.local.demo import loan_apply as demo


def test_demo_applications_load_once_with_their_statuses(api):
    assert demo.load() == 4
    assert demo.load() == 4  # idempotent
    statuses = ("SUBMITTED", "UNDER_REVIEW", "APPROVED", "REJECTED")
    queue = {s: actions.staff_queue({"status": s})["items"] for s in statuses}
    assert {s: len(items) for s, items in queue.items()} == {"SUBMITTED": 1, "UNDER_REVIEW": 1, "APPROVED": 1,
                                                             "REJECTED": 1}
    [mine] = actions.mine("o_demo_customer")
    assert mine["status"] == "UNDER_REVIEW" and mine["prescreen"]["verdict"] == "eligible"
    assert queue["REJECTED"][0]["prescreen"]["verdict"] == "not_eligible"

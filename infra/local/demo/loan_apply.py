"""Demo loan and credit card applications: one for the simulator's default user
(o_demo_customer, under review) and a few from other applicants so the back-office queue
has something in each status. Submitted through the actions, so personal data is sealed as
in production; the idempotency keys make a second load a no-op."""
from __future__ import annotations

from typing import Any

REVIEWER, APPROVER, SECOND_APPROVER = "demo-reviewer", "demo-approver", "demo-approver-2"
# openid, idempotency key, form (fictional people; ID numbers carry valid check digits), the
# steps of staff (target status, reason, who), four eyes: one reviews, others decide
APPLICATIONS: list[tuple[str, str, dict[str, str], list[tuple[str, str, str]]]] = [
    ("o_demo_customer", "demo-application-1",
     {"product": "consumer_loan", "amount": "80000", "term": "36", "purpose": "renovation", "name": "李明",
      "id_number": "33020319880612{serial}", "phone": "13805740001", "city": "宁波", "monthly_income": "12000",
      "employment_type": "employee"},
     [("UNDER_REVIEW", "资料已齐全，进入审核", REVIEWER)]),
    ("o_demo_applicant_2", "demo-application-2",
     {"product": "credit_card", "amount": "30000", "name": "王芳", "id_number": "33020519950203{serial}",
      "phone": "13905740002", "city": "宁波", "monthly_income": "9000", "employment_type": "civil_servant"},
     []),
    ("o_demo_applicant_3", "demo-application-3",
     {"product": "mortgage", "amount": "1200000", "term": "360", "purpose": "first_home", "name": "陈建国",
      "id_number": "33020019700915{serial}", "phone": "13705740003", "city": "宁波市", "monthly_income": "25000",
      "employment_type": "business_owner"},
     [("UNDER_REVIEW", "开始审核", REVIEWER), ("APPROVED", "收入证明与房产资料已核实", APPROVER),
      ("APPROVED", "复核通过", SECOND_APPROVER)]),
    ("o_demo_applicant_4", "demo-application-4",
     {"product": "business_loan", "amount": "500000", "term": "24", "purpose": "working_capital", "name": "周丽",
      "id_number": "33021219900101{serial}", "phone": "13605740004", "city": "宁波", "monthly_income": "6000",
      "employment_type": "employee"},
     [("UNDER_REVIEW", "开始审核", REVIEWER), ("REJECTED", "经营贷款仅面向企业主和个体工商户", APPROVER)]),
]


def _with_check_digit(template: str) -> str:
    from stdnum.cn import ric

    body = template.format(serial="123")
    return body + ric.calc_check_digit(body + "0")


def load() -> int:
    """Ensure every demo application exists and has reached its demo status; returns how many."""
    from functions.common.staff import Staff
    from functions.loan_apply import actions, catalogue, service, store

    consent = {"consent": "true", "consent_version": catalogue.load().consent_version}
    for openid, key, fields, path in APPLICATIONS:
        form: dict[str, Any] = {**fields, **consent, "id_number": _with_check_digit(fields["id_number"])}
        app_id = actions.submit(openid, form, key)["application"]["application_id"]
        done = {(service.entry_step(h.step, h.to_status), h.actor) for h in store.history(app_id)}
        for target, reason, subject in path:
            if (service.step_of(target), subject) not in done:
                member = Staff(subject=subject, name=subject, roles=frozenset({service.staff_role(target)}))
                actions.staff_transition(member, app_id, target, reason)
    return len(APPLICATIONS)

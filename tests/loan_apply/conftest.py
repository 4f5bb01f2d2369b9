"""Fixtures for loan_apply: a Chalice test client on a fresh moto account, sessions, and
valid resident ID numbers made with python-stdnum's own check digit."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from chalice.test import Client

from functions.common import staff as roles
from tests.aws_clients import clients
from tests.sessions import customer
from tests.staff_tokens import signed_in, subject_of

# Ningbo's Haishu district; a valid area code for every birth year we use.
AREA = "330203"
NOW = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)  # 10:00 in Ningbo


def resident_id(birth: date, serial: str = "123") -> str:
    """A valid 18-digit resident ID for `birth` (check digit from stdnum)."""
    from stdnum.cn import ric

    body = f"{AREA}{birth:%Y%m%d}{serial}"
    return body + ric.calc_check_digit(body + "0")


def form(**overrides) -> dict:
    """A complete, eligible consumer-loan application."""
    from functions.loan_apply import catalogue

    data = {
        "product": "consumer_loan",
        "amount": "50000",
        "term": "24",
        "purpose": "renovation",
        "name": "张三丰",
        "id_number": resident_id(date(1990, 5, 17)),
        "phone": "13812345678",
        "city": "宁波",
        "monthly_income": "15000",
        "employment_type": "employee",
        "consent": "true",
        "consent_version": catalogue.load().consent_version,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


class Api:
    """The customer's and the staff's view of the loans API over Chalice's test client."""

    def __init__(self, client: Client):
        self.client = client
        self.http = client.http

    def headers(self, openid: str, **extra) -> dict:
        return {**customer(openid), **extra}

    def submit(self, openid: str, body: dict, key: str = "key-0000001"):
        return self.http.post("/loans/api/applications", headers=self.headers(openid, **{"Idempotency-Key": key}),
                              body=json.dumps(body))

    def subject(self, staff: str) -> str:
        """The verified subject the functions record for the member of staff `staff`."""
        return subject_of(staff)

    def staff(self, method: str, path: str, body: dict | None = None, staff: str = "reviewer-1",
              role: str = roles.LOAN_REVIEWER, **extra):
        headers = {**signed_in(staff, role).headers, **extra}
        call = getattr(self.http, method)
        return call(path, headers=headers, body=json.dumps(body)) if body is not None else call(path, headers=headers)

    def transition(self, application_id: str, to: str, reason: str = "", staff: str | None = None):
        """A move by staff in the role it needs: by default reviewer-1 takes it into review
        and approver-1 decides."""
        from functions.loan_apply import service

        role = service.staff_role(to)
        subject = staff or ("approver-1" if role == roles.LOAN_APPROVER else "reviewer-1")
        return self.staff("post", f"/loans/staff/applications/{application_id}/transition",
                          {"to": to, "reason": reason}, staff=subject, role=role)

    def read(self, application_id: str, reason: str = "credit_review", staff: str = "reviewer-1", **extra):
        """A reviewer's decrypted read, for a reason from the list."""
        return self.staff("get", f"/loans/staff/applications/{application_id}?reason={reason}", staff=staff, **extra)

    def recommend(self, application_id: str, recommendation: str, note: str = "收入稳定",
                  staff: str = "reviewer-1"):
        return self.staff("post", f"/loans/staff/applications/{application_id}/recommendation",
                          {"recommendation": recommendation, "note": note}, staff=staff)

    def withdraw(self, openid: str, application_id: str, reason: str = ""):
        return self.http.post(f"/loans/api/applications/{application_id}/withdraw", headers=self.headers(openid),
                              body=json.dumps({"reason": reason}))


@pytest.fixture
def offline_api():
    """The API without AWS, for what is refused before any table is touched."""
    from functions.loan_apply.app import app

    with Client(app) as client:
        yield Api(client)


@pytest.fixture
def api(aws, frozen_clock):
    from functions.loan_apply.app import app

    frozen_clock(NOW)
    with Client(app) as client:
        yield Api(client)


def raw_items(table: str = "TABLE_APPLICATIONS") -> list[dict]:
    """Every item of a table (the applications table by default) as DynamoDB holds it."""
    import os

    return clients.client("dynamodb").scan(TableName=os.environ[table], ConsistentRead=True)["Items"]

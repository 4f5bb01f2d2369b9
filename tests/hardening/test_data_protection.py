"""Data protection: after every feature has handled known test customers, no table item, no
queued event and no log line (caplog, stdout/stderr where Powertools writes) holds their
names, ID numbers, mobile numbers or card numbers in plain text; personal data is sealed
with a KMS data key bound to an encryption context."""
from __future__ import annotations

import json
import logging
from datetime import date

from chalice.test import Client

from functions.common import clock, pii
from tests.aws_clients import clients
from tests.hardening import apps
from tests.hardening.conftest import customer, record, snapshot, staff
from tests.webhook import wechat_side as wx


def _people() -> dict[str, dict[str, str]]:
    from tests.loan_apply.conftest import resident_id

    return {
        "booker": {"name": "欧阳明月", "phone": "13712349876"},
        "borrower": {"name": "司马相如", "id_number": resident_id(date(1985, 3, 9), "457"), "phone": "15888776655"},
        "cardholder": {"name": "诸葛青云", "phone": "18655443322", "card": "6222021234567890128"},
    }


def _fragments(people) -> set[str]:
    """Every plaintext value, and the mobile and card numbers in the forms they are written."""
    out = set()
    for person in people.values():
        for key, value in person.items():
            out.add(value)
            if key == "phone":
                out |= {f"+86{value}", f"{value[:3]} {value[3:7]} {value[7:]}"}
            if key == "card":
                out.add(" ".join(value[i:i + 4] for i in range(0, len(value), 4)))
    return out


def test_no_plaintext_personal_data_in_tables_events_or_logs(aws, frozen_clock, caplog, capsys, monkeypatch):
    from functions.booking import store as booking_store
    from functions.booking.service import Manager
    from functions.notify import corebank, sms
    from infra.local.demo import branch_lookup
    from tests.booking.conftest import MONDAY_8AM, branch
    from tests.loan_apply.conftest import form as loan_form

    caplog.set_level(logging.DEBUG)
    people = _people()
    frozen_clock(MONDAY_8AM)
    branch_lookup.load(branches=[branch("T01")])
    booking_store.put_manager("T01", Manager("m1", "王芳", frozenset({"wealth"})))
    texts: list[tuple[str, str]] = []
    monkeypatch.setattr(sms, "send", lambda phone, message: texts.append((phone, message.text)))

    booking, loans, notify = (Client(apps.app(f)) for f in ("booking", "loan_apply", "notify"))
    webhook = Client(apps.app("webhook"))
    # booking: through the JSON API and the form, then the staff's day list
    p = people["booker"]
    res = booking.http.post("/booking/api/bookings", headers=customer("o_dp_booker"), body=json.dumps({
        "branch_id": "T01", "service": "wealth", "slot_start": "2026-12-01T01:00:00Z", "name": p["name"],
        "mobile": p["phone"], "note": f"我的手机{p['phone']}"}))
    assert res.status_code == 201, res.body
    assert booking.http.get("/booking/staff/branches/T01/bookings?date=2026-12-01", headers=staff()).status_code == 200
    # a refused booking (bad slot) with the same personal data
    booking.http.post("/booking/api/bookings", headers=customer("o_dp_booker2"), body=json.dumps({
        "branch_id": "T01", "service": "wealth", "slot_start": "nope", "name": p["name"], "mobile": p["phone"]}))
    # loan: submit, read it back, the staff's decrypted read and a transition
    p = people["borrower"]
    headers = {**customer("o_dp_borrower"), "Idempotency-Key": "dp-000001"}
    res = loans.http.post("/loans/api/applications", headers=headers,
                          body=json.dumps(loan_form(name=p["name"], id_number=p["id_number"], phone=p["phone"])))
    assert res.status_code == 201, res.body
    application_id = json.loads(res.body)["application"]["application_id"]
    loans.http.get(f"/loans/api/applications/{application_id}", headers=customer("o_dp_borrower"))
    read = f"/loans/staff/applications/{application_id}?reason=credit_review"
    assert loans.http.get(read, headers=staff()).status_code == 200
    loans.http.post(f"/loans/staff/applications/{application_id}/transition", headers=staff(),
                    body=json.dumps({"to": "reviewing", "reason": "资料齐全"}))
    # notify: a core-banking customer binds a card by OTP; a card transaction follows
    p = people["cardholder"]
    corebank.add_customer("CDP01", p["name"], p["phone"])
    corebank.add_card("CDP01", p["card"])
    res = notify.http.post("/notify/api/otp", headers=customer("o_dp_card"),
                           body=json.dumps({"card_number": p["card"], "phone": p["phone"]}))
    assert res.status_code == 200, res.body
    code = texts[-1][1].split("验证码")[1][:6]
    assert notify.http.post("/notify/api/bindings", headers=customer("o_dp_card"),
                            body=json.dumps({"code": code})).status_code == 201
    # the webhook: a customer types personal data into the chat
    for text in (people["borrower"]["id_number"], people["cardholder"]["card"], people["booker"]["phone"]):
        path, body = wx.request(wx.msg("text", Content=text), timestamp=clock.epoch())
        assert webhook.http.post(path, headers={"Content-Type": "text/xml"}, body=body).status_code == 200

    # what was stored, queued and logged
    stored = json.dumps(snapshot(), ensure_ascii=False)
    queued = _queued_bodies()
    captured = capsys.readouterr()
    logged = "\n".join([caplog.text, captured.out, captured.err,
                        *(json.dumps(r.__dict__, default=str, ensure_ascii=False) for r in caplog.records)])
    leaks = {f"{where}: {value}" for value in _fragments(people)
             for where, text in (("table", stored), ("queue", queued), ("log", logged)) if value in text}
    assert not leaks, sorted(leaks)
    assert "v1." in stored  # the personal data is there, sealed
    record("data_protection", "Data protection: plaintext personal data in tables, events and logs",
           len(_fragments(people)), f"{len(_fragments(people))} values (3 customers, every feature) searched in "
           f"{len(stored) // 1024} KB of items and {len(logged) // 1024} KB of logs: none found")


def _queued_bodies() -> str:
    sqs = clients.client("sqs")
    out = []
    for url in sqs.list_queues().get("QueueUrls", []):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        out += [m["Body"] for m in got]
    return "\n".join(out)


def test_seal_uses_kms_with_an_encryption_context(aws, monkeypatch):
    """Personal data keys come from KMS (GenerateDataKey, AES_256, the record's context);
    the blob opens only under the same context."""
    import pytest

    from functions.common import aws as common_aws
    from functions.common import config

    calls = []
    kms = common_aws.client("kms")
    kms.meta.events.register("provide-client-params.kms.GenerateDataKey",
                             lambda params, **_: calls.append(dict(params)))
    context = {"application_id": "LA1", "purpose": "loan_application"}
    blob = pii.seal({"name": "司马相如"}, context)
    assert calls == [{"KeyId": config.settings().pii_kms_key_id, "KeySpec": "AES_256", "EncryptionContext": context}]
    assert config.settings().pii_kms_key_id and "司马相如" not in blob
    assert pii.unseal(blob, context) == {"name": "司马相如"}
    with pytest.raises(Exception):
        pii.unseal(blob, {**context, "application_id": "LA2"})

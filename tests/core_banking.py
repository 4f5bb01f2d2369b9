"""A customer of core banking with one card, unique to the test that makes it (card numbers
and mobile numbers random; the local stack's or moto's core-banking table)."""
from __future__ import annotations

import secrets


def customer(kind: str = "credit") -> tuple[str, str]:
    """(card number, mobile) of a new customer whose one card is of `kind` (credit | debit)."""
    from stdnum import luhn

    from functions.notify import corebank

    body = "62220257" + "".join(secrets.choice("0123456789") for _ in range(7))
    card = body + luhn.calc_check_digit(body)
    phone = "1390574" + "".join(secrets.choice("0123456789") for _ in range(4))
    customer_id = "SIM" + secrets.token_hex(4).upper()
    corebank.add_customer(customer_id, "陈甬", phone)
    corebank.add_card(customer_id, card, "借记卡" if kind == "debit" else "信用卡", kind)
    return card, phone

"""Demo core-banking customers for notify (all fictional): customers with mobile numbers and
cards, some cards already bound to demo openids, and one unpaid statement due in three days.

The card numbers below exist only here, for trying the binding page (/notify/bind) with the
mobile number beside them; the tables hold their keyed hashes and last four digits only.
"""
from __future__ import annotations

from datetime import timedelta

from stdnum import luhn


def _card(body: str) -> str:
    return body + luhn.calc_check_digit(body)


# (customer id, name, mobile, cards, openids bound to the first card)
CUSTOMERS = (
    ("C10001", "陈晓明", "13957400001", (_card("625905740000001"), _card("625905740000002")), ("o_demo_customer",)),
    ("C10002", "李文静", "13957400002", (_card("625905740000003"),), ()),
    ("C10003", "王海涛", "13957400003", (_card("625905740000004"),), ("o_demo_customer2",)),
    ("C10004", "周雨桐", "13957400004", (_card("625905740000005"),), ()),
)
# debit cards (the others are credit cards): wealth products are bought with one, once bound
# on /notify/bind (binding there announces it to products)
DEBIT = frozenset({_card("625905740000002")})


def load() -> int:
    """Write the demo records (idempotent); returns how many cards there are."""
    from functions.common import clock
    from functions.notify import corebank, store

    cards = 0
    for customer_id, name, phone, numbers, openids in CUSTOMERS:
        corebank.add_customer(customer_id, name, phone)
        added = [corebank.add_card(customer_id, number, "借记卡", "debit") if number in DEBIT
                 else corebank.add_card(customer_id, number) for number in numbers]
        cards += len(added)
        for openid in openids:
            if not any(b.card_hash == added[0].card_hash for b in store.bindings_of(openid)):
                store.bind(openid, customer_id, added[0].card_hash, added[0].last4)
    first = CUSTOMERS[0]
    due = (clock.local().date() + timedelta(days=3)).isoformat()
    store.save_statement(first[0], first[3][0][-4:], f"DEMO-{due[:7]}", 356_880, 35_688, due)
    return cards

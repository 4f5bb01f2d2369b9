"""Core banking's customer and card records, as notify reads them (the table is core
banking's; locally the demo loader fills it through `add_customer` / `add_card`).

  customer  CUST#<id> / PROFILE         name and mobile sealed, mobile keyed hash
  card      CARD#<card hash> / CARD     customer id, last four, kind (debit | credit)
  card list CUST#<id> / CARD#<last4>#<card hash>
No card number is stored anywhere: a card is found by the keyed hash of its number.
"""
from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import UnicodeAttribute

from functions.common import pii
from functions.common.dynamo import Model, table_meta

CARD_PURPOSE = "card"
PHONE_PURPOSE = "phone"
CARD_REF_PURPOSE = "card-ref"


class _Record(Model):
    Meta = table_meta("core_banking")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class CustomerRecord(_Record):
    sealed = UnicodeAttribute()
    phone_hash = UnicodeAttribute()


class CardRecord(_Record):
    customer_id = UnicodeAttribute()
    card_last4 = UnicodeAttribute()
    card_hash = UnicodeAttribute()
    product = UnicodeAttribute(default="信用卡")
    kind = UnicodeAttribute(default="credit")  # debit | credit (functions/common/events.CARD_KINDS)


@dataclass(frozen=True)
class Card:
    customer_id: str
    card_hash: str
    last4: str
    product: str
    kind: str = "credit"


def card_hash(card_number: str) -> str:
    return pii.keyed_hash(card_number, CARD_PURPOSE)


def phone_hash(phone: str) -> str:
    return pii.keyed_hash(phone, PHONE_PURPOSE)


def card_ref(openid: str, card_hash: str) -> str:
    """How other features name a card an openid has bound (events.CUSTOMER_SCHEMAS): a keyed
    hash of the binding, which tells nothing of the number and differs for each openid."""
    return pii.keyed_hash(f"{openid}:{card_hash}", CARD_REF_PURPOSE)[:32]


def find_card(hashed: str) -> Card | None:
    try:
        record = CardRecord.get(f"CARD#{hashed}", "CARD")
    except CardRecord.DoesNotExist:
        return None
    return Card(record.customer_id, record.card_hash, record.card_last4, record.product, record.kind)


def cards_of(customer_id: str) -> list[Card]:
    return [Card(r.customer_id, r.card_hash, r.card_last4, r.product, r.kind)
            for r in CardRecord.query(f"CUST#{customer_id}", CardRecord.sk.startswith("CARD#"))]


def phone_hash_of(customer_id: str) -> str | None:
    try:
        return CustomerRecord.get(f"CUST#{customer_id}", "PROFILE").phone_hash
    except CustomerRecord.DoesNotExist:
        return None


def phone_of(customer_id: str) -> str | None:
    """The mobile number on file, unsealed for sending an SMS (never shown or logged)."""
    try:
        record = CustomerRecord.get(f"CUST#{customer_id}", "PROFILE")
    except CustomerRecord.DoesNotExist:
        return None
    return pii.unseal(record.sealed, {"customer": customer_id})["phone"]


def add_customer(customer_id: str, name: str, phone: str) -> None:
    sealed = pii.seal({"name": name, "phone": phone}, {"customer": customer_id})
    CustomerRecord(f"CUST#{customer_id}", "PROFILE", sealed=sealed, phone_hash=phone_hash(phone)).save()


def add_card(customer_id: str, card_number: str, product: str = "信用卡", kind: str = "credit") -> Card:
    hashed, last4 = card_hash(card_number), card_number.strip()[-4:]
    CardRecord(f"CARD#{hashed}", "CARD", customer_id=customer_id, card_last4=last4, card_hash=hashed,
               product=product, kind=kind).save()
    CardRecord(f"CUST#{customer_id}", f"CARD#{last4}#{hashed}", customer_id=customer_id, card_last4=last4,
               card_hash=hashed, product=product, kind=kind).save()
    return Card(customer_id, hashed, last4, product, kind)

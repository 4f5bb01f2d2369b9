"""products' table (single-table design, see infra/resources/products.yml).

  CATALOGUE / <code>            a product of the catalogue (one partition: the bank sells tens)
  DOC#<code> / <kind>#<version> a product document's text at a version (kept, never replaced)
  NAV#<code> / <date>           a published net value per unit
  STAGED / <date>#<code>        a net value imported and waiting for the nightly publication
  AGREEMENT / <version>, CURRENT  the agreement's texts, and the version customers are asked for
  USER#<openid> / ASSESSED#<date> assessments made that day (the daily limit)
  USER#<openid> / CARD#<ref>    a card bound in notify (products' projection of notify's events)
  USER#<openid> / STEPUP        the step-up code for a purchase; STEPUPS#<date>: codes that day

and the append-only records (product-records): customers' assessments and acceptances.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from pynamodb.attributes import BooleanAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from functions.common import clock, dynamo
from functions.common.dynamo import Model, TTLAttribute, expires_at, table_meta
from functions.products import listing, service
from functions.products.listing import CATALOGUE
from functions.products.service import Document, NetValue, Product

STAGED = "STAGED"
AGREEMENT = "AGREEMENT"
CURRENT = "CURRENT"


class ProductItem(Model):
    Meta = table_meta("products")
    pk = UnicodeAttribute(hash_key=True, default=CATALOGUE)
    sk = UnicodeAttribute(range_key=True)  # code
    name = UnicodeAttribute()
    issuer = UnicodeAttribute()
    kind = UnicodeAttribute()
    risk = UnicodeAttribute()
    benchmark_low_bp = NumberAttribute()
    benchmark_high_bp = NumberAttribute()
    term_days = NumberAttribute()
    min_purchase_fen = NumberAttribute()
    increment_fen = NumberAttribute()
    window_start = UnicodeAttribute()
    window_end = UnicodeAttribute()
    quota_fen = NumberAttribute()
    status = UnicodeAttribute()
    documents = JSONAttribute(default=dict)  # kind → current version
    last_nav_e4 = NumberAttribute(null=True)
    last_nav_date = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()

    def trading_nav_e4(self) -> int:
        """The last published net value per unit, or par where none is published yet."""
        return int(self.last_nav_e4) if self.last_nav_e4 else service.UNIT_NAV

    def product(self) -> Product:
        return listing.product(self.serialize())


class DocumentItem(Model):
    Meta = table_meta("products")
    pk = UnicodeAttribute(hash_key=True)  # DOC#<code>
    sk = UnicodeAttribute(range_key=True)  # <kind>#<version>
    text = UnicodeAttribute()
    sha256 = UnicodeAttribute()
    created_at = UnicodeAttribute()


class NetValueItem(Model):
    Meta = table_meta("products")
    pk = UnicodeAttribute(hash_key=True)  # NAV#<code> or STAGED
    sk = UnicodeAttribute(range_key=True)  # <date> or <date>#<code>
    code = UnicodeAttribute()
    day = UnicodeAttribute()
    nav_e4 = NumberAttribute()

    def net_value(self) -> NetValue:
        return NetValue(self.code, date.fromisoformat(self.day), int(self.nav_e4))


# ----- the catalogue ---------------------------------------------------------------------------

def catalogue() -> list[ProductItem]:
    return list(ProductItem.query(CATALOGUE))


def get(code: str) -> ProductItem | None:
    try:
        return ProductItem.get(CATALOGUE, code)
    except ProductItem.DoesNotExist:
        return None


def save_products(products: Iterable[Product]) -> int:
    """Upsert products by code with their documents. A document's text is written once per
    version (what a customer read stays readable); the product points at the imported
    version. Its last net value is kept."""
    now = clock.iso(clock.now())
    written = 0
    with ProductItem.batch_write() as batch:
        for product in products:
            known = get(product.code)
            item = ProductItem(
                CATALOGUE, product.code, name=product.name, issuer=product.issuer, kind=product.kind,
                risk=product.risk, benchmark_low_bp=product.benchmark_low_bp,
                benchmark_high_bp=product.benchmark_high_bp, term_days=product.term_days,
                min_purchase_fen=product.min_purchase_fen, increment_fen=product.increment_fen,
                window_start=product.window_start.isoformat(), window_end=product.window_end.isoformat(),
                quota_fen=product.quota_fen, status=product.status,
                documents={d.kind: d.version for d in product.documents}, updated_at=now,
                last_nav_e4=known.last_nav_e4 if known else None, last_nav_date=known.last_nav_date if known else None,
            )
            batch.save(item)
            for document in product.documents:
                _keep_document(product.code, document, now)
            written += 1
    return written


def _keep_document(code: str, document: Document, now: str) -> None:
    item = DocumentItem(f"DOC#{code}", f"{document.kind}#{document.version}", text=document.text,
                        sha256=document.sha256, created_at=now)
    item.save_if(DocumentItem.pk.does_not_exist())  # False: an existing version is kept as it was


def document(code: str, kind: str, version: str) -> Document | None:
    try:
        item = DocumentItem.get(f"DOC#{code}", f"{kind}#{version}")
    except DocumentItem.DoesNotExist:
        return None
    return Document(kind, version, item.text)


# ----- net values ------------------------------------------------------------------------------

def history(code: str, limit: int) -> list[NetValue]:
    """The product's last `limit` published net values, oldest first."""
    found = NetValueItem.query(f"NAV#{code}", scan_index_forward=False, limit=limit)
    return [item.net_value() for item in found][::-1]


def stage(values: Iterable[NetValue]) -> int:
    """Keep imported net values until the nightly publication (a value staged again for the
    same day and product replaces the earlier one)."""
    written = 0
    with NetValueItem.batch_write() as batch:
        for value in values:
            batch.save(NetValueItem(STAGED, f"{value.day.isoformat()}#{value.code}", code=value.code,
                                    day=value.day.isoformat(), nav_e4=value.nav_e4))
            written += 1
    return written


def staged_until(day: date) -> list[NetValue]:
    """Staged net values of `day` and before, oldest first."""
    after = date.fromordinal(day.toordinal() + 1).isoformat()
    return [item.net_value() for item in NetValueItem.query(STAGED, NetValueItem.sk < after)]


def publish(values: list[NetValue]) -> None:
    """Publish staged values: into the products' histories, each product's newest as its last
    net value (unless a newer one is there), and off the staging list. In batches (a back-
    filled history is hundreds of values); every step is safe to repeat if one is cut short."""
    newest: dict[str, NetValue] = {}
    with NetValueItem.batch_write() as batch:
        for value in values:
            batch.save(NetValueItem(f"NAV#{value.code}", value.day.isoformat(), code=value.code,
                                    day=value.day.isoformat(), nav_e4=value.nav_e4))
            if value.code not in newest or value.day > newest[value.code].day:
                newest[value.code] = value
    for value in newest.values():
        ProductItem(CATALOGUE, value.code).update_if(  # False: older than the last one, history only
            [ProductItem.last_nav_e4.set(value.nav_e4), ProductItem.last_nav_date.set(value.day.isoformat())],
            ProductItem.sk.exists() & (ProductItem.last_nav_date.does_not_exist()
                                       | (ProductItem.last_nav_date <= value.day.isoformat())))
    with NetValueItem.batch_write() as batch:
        for value in values:
            batch.delete(NetValueItem(STAGED, f"{value.day.isoformat()}#{value.code}"))


# ----- the agreement ---------------------------------------------------------------------------

class AgreementItem(Model):
    """AGREEMENT / <version>: the agreement's text; AGREEMENT / CURRENT: the version asked for."""

    Meta = table_meta("products")
    pk = UnicodeAttribute(hash_key=True, default=AGREEMENT)
    sk = UnicodeAttribute(range_key=True)
    version = UnicodeAttribute()
    text = UnicodeAttribute(null=True)
    sha256 = UnicodeAttribute()
    published_at = UnicodeAttribute()


def current_agreement() -> AgreementItem | None:
    """The version customers are asked to accept, with its text."""
    try:
        pointer = AgreementItem.get(AGREEMENT, CURRENT)
        return AgreementItem.get(AGREEMENT, pointer.version)
    except AgreementItem.DoesNotExist:
        return None


def publish_agreement(version: str, text: str) -> bool:
    """Keep the text of a new version and ask customers for it; False when the version exists
    with another text (a version's text never changes: acceptances point at it)."""
    digest, now = service.text_hash(text), clock.iso(clock.now())
    item = AgreementItem(AGREEMENT, version, version=version, text=text, sha256=digest, published_at=now)
    if not item.save_if(AgreementItem.pk.does_not_exist()) and AgreementItem.get(AGREEMENT, version).sha256 != digest:
        return False
    AgreementItem(AGREEMENT, CURRENT, version=version, sha256=digest, published_at=now).save()
    return True


class Acceptance(Model):
    """An acceptance of the agreement, append-only: what was shown (version, hash of its
    text), when, by whom, from where (source IP and user agent, sealed)."""

    Meta = table_meta("product-records")
    pk = UnicodeAttribute(hash_key=True)  # USER#<openid>
    sk = UnicodeAttribute(range_key=True)  # AGREEMENT#<version>#<time>#<id>
    openid = UnicodeAttribute()
    version = UnicodeAttribute()
    sha256 = UnicodeAttribute()
    accepted_at = UnicodeAttribute()
    sealed = UnicodeAttribute()  # pii.seal({source_ip, user_agent}, {"openid": openid})


def accepted(openid: str, version: str) -> Acceptance | None:
    found = Acceptance.query(user_pk(openid), Acceptance.sk.startswith(f"AGREEMENT#{version}#"), limit=1)
    return next(iter(found), None)


def record_acceptance(acceptance: Acceptance) -> None:
    """Append the acceptance; an existing record is never replaced."""
    acceptance.save(condition=Acceptance.pk.does_not_exist())


# ----- assessments -----------------------------------------------------------------------------

class Assessment(Model):
    """A risk-tolerance assessment, append-only; the customer's level is their newest."""

    Meta = table_meta("product-records")
    pk = UnicodeAttribute(hash_key=True)  # USER#<openid>
    sk = UnicodeAttribute(range_key=True)  # ASSESSMENT#<time>#<id>
    openid = UnicodeAttribute()
    version = UnicodeAttribute()
    answers = JSONAttribute()
    score = NumberAttribute()
    level = UnicodeAttribute()
    assessed_at = UnicodeAttribute()
    expires = UnicodeAttribute()  # ISO-8601 UTC: valid until then


class DayCount(Model):
    """USER#<openid> / ASSESSED#<date>: assessments made that Asia/Shanghai day."""

    Meta = table_meta("products")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    n = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)


def user_pk(openid: str) -> str:
    return f"USER#{openid}"


def last_assessment(openid: str) -> Assessment | None:
    found = Assessment.query(user_pk(openid), Assessment.sk.startswith("ASSESSMENT#"), scan_index_forward=False,
                             limit=1)
    return next(iter(found), None)


def record_assessment(assessment: Assessment, day: date, limit: int) -> bool:
    """Append the assessment and count it against the day's limit, in one transaction; False
    when the day's limit is reached (nothing written)."""
    counter = DayCount(assessment.pk, f"ASSESSED#{day.isoformat()}")
    keep = expires_at(datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(days=2))
    try:
        with dynamo.transaction() as tx:
            tx.update(counter, actions=[DayCount.n.add(1), DayCount.expires_at.set(keep)],
                      condition=DayCount.n.does_not_exist() | (DayCount.n < limit))
            tx.save(assessment, condition=Assessment.pk.does_not_exist())
    except TransactWriteError as error:
        if not dynamo.cancelled(error):
            raise
        return False
    return True


# ----- orders ----------------------------------------------------------------------------------
#   ORDER#<order_id> / ORDER        an order (purchase or redemption), its state
#   ORDER#<order_id> / HISTORY#<n>  its states in order, appended (n = 0 when placed, 1 at its end)
#   QUOTA / <code>                  the amount of the product's quota sold (fen)
#   USER#<openid> / HOLDING#<code>  units held (hundredths) and their cost (a pending redemption's are out)

QUOTA = "QUOTA"
ORDER = "ORDER"


class ByUser(GlobalSecondaryIndex):
    """A customer's orders, newest last (USER#<openid> / ORDER#<placed at>#<order id>)."""

    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_pk = UnicodeAttribute(hash_key=True)
    user_sk = UnicodeAttribute(range_key=True)


class Order(Model):
    Meta = table_meta("products")
    pk = UnicodeAttribute(hash_key=True)  # ORDER#<order_id>
    sk = UnicodeAttribute(range_key=True, default=ORDER)
    order_id = UnicodeAttribute()
    openid = UnicodeAttribute()
    kind = UnicodeAttribute()  # purchase | redemption
    code = UnicodeAttribute()
    amount_fen = NumberAttribute()  # a purchase's amount; a redemption's value at placing
    units_e2 = NumberAttribute(default=0)  # a redemption's units; a purchase's once confirmed
    nav_e4 = NumberAttribute(null=True)  # the net value it was confirmed at
    cost_fen = NumberAttribute(default=0)  # a redemption's share of the holding's cost
    card_last4 = UnicodeAttribute()
    sealed_card = UnicodeAttribute()  # pii.seal({"card_ref"}, {"openid": openid})
    state = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    trade_day = UnicodeAttribute()
    placed_at = UnicodeAttribute()
    changed_at = UnicodeAttribute()
    user_pk = UnicodeAttribute()
    user_sk = UnicodeAttribute()
    by_user = ByUser()


class OrderStep(Model):
    """One state of an order, when and why; appended, never changed."""

    Meta = table_meta("products")
    pk = UnicodeAttribute(hash_key=True)  # ORDER#<order_id>
    sk = UnicodeAttribute(range_key=True)  # HISTORY#<n>
    state = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    at = UnicodeAttribute()


class QuotaItem(Model):
    Meta = table_meta("products")
    pk = UnicodeAttribute(hash_key=True, default=QUOTA)
    sk = UnicodeAttribute(range_key=True)  # code
    sold_fen = NumberAttribute(null=True)


class Holding(Model):
    Meta = table_meta("products")
    pk = UnicodeAttribute(hash_key=True)  # USER#<openid>
    sk = UnicodeAttribute(range_key=True)  # HOLDING#<code>
    code = UnicodeAttribute(null=True)
    units_e2 = NumberAttribute(null=True)
    cost_fen = NumberAttribute(null=True)


def order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def holding_key(openid: str, code: str) -> tuple[str, str]:
    return user_pk(openid), f"HOLDING#{code}"


def get_order(order_id: str) -> Order | None:
    try:
        return Order.get(order_pk(order_id), ORDER, consistent_read=True)
    except Order.DoesNotExist:
        return None


def order_history(order_id: str) -> list[OrderStep]:
    return list(OrderStep.query(order_pk(order_id), OrderStep.sk.startswith("HISTORY#"), consistent_read=True))


def orders_of(openid: str, limit: int = 50) -> list[Order]:
    """The customer's orders, newest first."""
    return list(Order.query(user_pk(openid), index_name="by_user", scan_index_forward=False, limit=limit))


def last_purchase(openid: str, code: str) -> Order | None:
    """The customer's newest confirmed purchase of a product (a redemption pays to its card)."""
    confirmed = (Order.code == code) & (Order.kind == "purchase") & (Order.state == "CONFIRMED")
    found = Order.query(user_pk(openid), index_name="by_user", scan_index_forward=False, filter_condition=confirmed)
    return next(iter(found), None)


def sold(code: str) -> int:
    try:
        return int(QuotaItem.get(QUOTA, code, consistent_read=True).sold_fen or 0)
    except QuotaItem.DoesNotExist:
        return 0


def holdings_of(openid: str) -> list[Holding]:
    return list(Holding.query(user_pk(openid), Holding.sk.startswith("HOLDING#")))


def get_holding(openid: str, code: str) -> Holding | None:
    try:
        return Holding.get(*holding_key(openid, code), consistent_read=True)
    except Holding.DoesNotExist:
        return None


def _step(order: Order, n: int, tx: dynamo.LabelledTransaction) -> None:
    tx.put("step", OrderStep(order.pk, f"HISTORY#{n}", state=order.state, reason=order.reason,
                             at=order.changed_at), condition=OrderStep.pk.does_not_exist())


def place(order: Order, quota_fen: int = 0, holding: Holding | None = None) -> None:
    """Write a new order and its first step in one transaction. A purchase takes its amount
    from the product's quota (`quota_fen` in all; sold + amount <= quota); a redemption takes
    its units and their cost (`order.cost_fen`) out of the `holding` as it was read (its
    units unchanged meanwhile). Cancelled: `order` (it exists), `quota` (not enough left),
    `holding` (changed meanwhile); `conflict` when another transaction held an item."""
    tx = dynamo.LabelledTransaction()
    tx.put("order", order, condition=Order.pk.does_not_exist())
    _step(order, 0, tx)
    if order.kind == "purchase":
        amount = int(order.amount_fen)
        if amount > quota_fen:
            raise ValueError("an order above the whole quota")
        tx.update("quota", QuotaItem(QUOTA, order.code), [QuotaItem.sold_fen.add(amount)],
                  condition=QuotaItem.sold_fen.does_not_exist() | (QuotaItem.sold_fen <= quota_fen - amount))
    else:
        assert holding is not None
        units = int(order.units_e2)
        tx.update("holding", holding, [Holding.units_e2.add(-units), Holding.cost_fen.add(-int(order.cost_fen))],
                  condition=Holding.units_e2 == int(holding.units_e2))
    tx.commit()


def change(order: Order, to: str, reason: str | None, at: str, nav_e4: int | None = None) -> None:
    """Move a PENDING order to `to`, with its step, in one transaction (condition: still
    PENDING). A FAILED or CANCELLED purchase gives its amount back to the quota and a
    redemption its units back to the holding; a CONFIRMED purchase adds its units (at
    `nav_e4`) and cost to the holding. Cancelled `order`: no longer PENDING."""
    tx = dynamo.LabelledTransaction()
    actions = [Order.state.set(to), Order.changed_at.set(at)]
    if reason:
        actions.append(Order.reason.set(reason))
    units = int(order.units_e2)
    if to == "CONFIRMED" and order.kind == "purchase":
        assert nav_e4 is not None
        units = service.units_for(int(order.amount_fen), nav_e4)
        actions += [Order.nav_e4.set(nav_e4), Order.units_e2.set(units)]
    tx.update("order", order, actions, condition=Order.state == "PENDING")
    order.state, order.reason, order.changed_at = to, reason, at
    _step(order, 1, tx)
    holding = Holding(*holding_key(order.openid, order.code))
    if to != "CONFIRMED" and order.kind == "purchase":
        tx.update("quota", QuotaItem(QUOTA, order.code), [QuotaItem.sold_fen.add(-int(order.amount_fen))])
    elif to != "CONFIRMED":
        tx.update("holding", holding, [Holding.units_e2.add(units), Holding.cost_fen.add(int(order.cost_fen))])
    elif order.kind == "purchase":
        tx.update("holding", holding, [Holding.code.set(order.code), Holding.units_e2.add(units),
                                       Holding.cost_fen.add(int(order.amount_fen))])
    tx.commit()
# ----- cards -----------------------------------------------------------------------------------
# products' own projection of the cards customers have bound, from notify's card_bound /
# card_unbound events (the customer-events topic); notify's tables are never read.

class CardItem(Model):
    """USER#<openid> / CARD#<card ref>: a card as its newest change left it. An unbound card
    stays as a tombstone (`bound` false, with its change's time), so a late copy of an older
    binding cannot bring it back."""

    Meta = table_meta("products")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    card_ref = UnicodeAttribute()
    last4 = UnicodeAttribute()
    kind = UnicodeAttribute(null=True)
    phone_masked = UnicodeAttribute(null=True)
    bound = BooleanAttribute()
    bound_at = UnicodeAttribute(null=True)  # ISO-8601 UTC
    changed_at = UnicodeAttribute()  # ISO-8601 UTC of the change applied (events' `at`)


def apply_card(openid: str, card_ref: str, last4: str, at: str, bound: bool, kind: str = "",
               phone_masked: str = "") -> bool:
    """Apply one change of a card if it is newer than the one applied; False when it is not
    (a copy of an applied binding, or a change that arrived after a newer one)."""
    item = CardItem(user_pk(openid), f"CARD#{card_ref}")
    actions: list[Action] = [CardItem.card_ref.set(card_ref), CardItem.last4.set(last4), CardItem.bound.set(bound),
               CardItem.changed_at.set(at)]
    if bound:
        actions += [CardItem.kind.set(kind), CardItem.phone_masked.set(phone_masked), CardItem.bound_at.set(at)]
    # a binding and its end at the same second: the end wins (a card never wrongly usable)
    newer = (CardItem.changed_at < at) if bound else (CardItem.changed_at <= at)
    return item.update_if(actions, CardItem.changed_at.does_not_exist() | newer)


def cards_of(openid: str) -> list[CardItem]:
    """The cards the customer has bound, in the order they were bound."""
    found = CardItem.query(user_pk(openid), CardItem.sk.startswith("CARD#"), consistent_read=True)
    return sorted((c for c in found if c.bound), key=lambda c: c.bound_at or "")


# ----- purchase --------------------------------------------------------------------------------

class StepUpItem(Model):
    """USER#<openid> / STEPUP: the customer's step-up code for a purchase (its keyed hash
    only), the card it was texted for, its tries, and the purchase that spent it (its
    idempotency key). A new code replaces it."""

    Meta = table_meta("products")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    code_hash = UnicodeAttribute()
    card_ref = UnicodeAttribute()
    tries = NumberAttribute(default=0)
    sent_at = NumberAttribute()  # epoch seconds
    expires_at = TTLAttribute()
    spent_by = UnicodeAttribute(null=True)  # the idempotency key of the purchase it confirmed


STEPUP = "STEPUP"


def save_stepup(openid: str, code_hash: str, card_ref: str, ttl_s: int, resend_s: int, day: date,
                per_day: int) -> str | None:
    """Keep a new code and count it against the day's, in one transaction; None when kept,
    else which limit refused it ("resend": the last code is under `resend_s` old; "day")."""
    now = clock.epoch()
    counter = DayCount(user_pk(openid), f"STEPUPS#{day.isoformat()}")
    keep = expires_at(datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(days=2))
    item = StepUpItem(user_pk(openid), STEPUP)
    try:
        with dynamo.transaction() as tx:
            tx.update(counter, actions=[DayCount.n.add(1), DayCount.expires_at.set(keep)],
                      condition=DayCount.n.does_not_exist() | (DayCount.n < per_day))
            tx.update(item, actions=[StepUpItem.code_hash.set(code_hash), StepUpItem.card_ref.set(card_ref),
                                     StepUpItem.tries.set(0), StepUpItem.sent_at.set(now),
                                     StepUpItem.expires_at.set(now + ttl_s), StepUpItem.spent_by.remove()],
                      condition=StepUpItem.sent_at.does_not_exist() | (StepUpItem.sent_at <= now - resend_s))
    except TransactWriteError as error:
        if not dynamo.cancelled(error):
            raise
        last = stepup(openid)
        return "resend" if last is not None and last.sent_at > now - resend_s else "day"
    return None


def stepup(openid: str) -> StepUpItem | None:
    try:
        return StepUpItem.get(user_pk(openid), STEPUP, consistent_read=True)
    except StepUpItem.DoesNotExist:
        return None


def spend_stepup_try(item: StepUpItem, max_tries: int) -> bool:
    """Count one attempt atomically; False once the code has used its tries."""
    return item.update_if([StepUpItem.tries.add(1)],
                          (StepUpItem.tries < max_tries) & (StepUpItem.code_hash == item.code_hash))


def spend_stepup(item: StepUpItem, idempotency_key: str) -> bool:
    """The code confirms the purchase of `idempotency_key`, once: False when another
    purchase spent it first (or a new code replaced it)."""
    return item.update_if([StepUpItem.spent_by.set(idempotency_key)],
                          StepUpItem.spent_by.does_not_exist() & (StepUpItem.code_hash == item.code_hash))


def release_stepup(item: StepUpItem, idempotency_key: str) -> None:
    """The purchase the code confirmed was refused (nothing ordered): the code may confirm the
    corrected one, while it is valid and has tries left."""
    # False: not spent by this purchase (nothing to release)
    item.update_if([StepUpItem.spent_by.remove()], StepUpItem.spent_by == idempotency_key)


def discard_stepup(openid: str) -> None:
    """A code that used its tries can never match: its hash is replaced by nothing a code hashes to."""
    StepUpItem(user_pk(openid), STEPUP).update(actions=[StepUpItem.code_hash.set("-"), StepUpItem.expires_at.set(0)])

"""products' table (single-table design, see infra/resources/products.yml).

  CATALOGUE / <code>            a product of the catalogue (one partition: the bank sells tens)
  DOC#<code> / <kind>#<version> a product document's text at a version (kept, never replaced)
  NAV#<code> / <date>           a published net value per unit
  STAGED / <date>#<code>        a net value imported and waiting for the nightly publication
  AGREEMENT / <version>, CURRENT  the agreement's texts, and the version customers are asked for
  USER#<openid> / ASSESSED#<date> assessments made that day (the daily limit)

and the append-only records (product-records): customers' assessments and acceptances.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError

from functions.common import clock, dynamo
from functions.common.dynamo import Model, TTLAttribute, condition_failed, expires_at, table_meta
from functions.products import service
from functions.products.service import Document, NetValue, Product

CATALOGUE = "CATALOGUE"
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

    def product(self) -> Product:
        return Product(self.sk, self.name, self.issuer, self.kind, self.risk, int(self.benchmark_low_bp),
                       int(self.benchmark_high_bp), int(self.term_days), int(self.min_purchase_fen),
                       int(self.increment_fen), date.fromisoformat(self.window_start),
                       date.fromisoformat(self.window_end), int(self.quota_fen), self.status)


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
    try:
        item.save(condition=DocumentItem.pk.does_not_exist())
    except PutError as error:  # an existing version is kept as it was
        if not condition_failed(error):
            raise


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


def publish(value: NetValue) -> None:
    """Publish one staged value: into the product's history, as its last net value when it
    is the newest, and off the staging list."""
    NetValueItem(f"NAV#{value.code}", value.day.isoformat(), code=value.code, day=value.day.isoformat(),
                 nav_e4=value.nav_e4).save()
    try:
        ProductItem(CATALOGUE, value.code).update(
            actions=[ProductItem.last_nav_e4.set(value.nav_e4), ProductItem.last_nav_date.set(value.day.isoformat())],
            condition=ProductItem.sk.exists() & (ProductItem.last_nav_date.does_not_exist()
                                                 | (ProductItem.last_nav_date <= value.day.isoformat())))
    except UpdateError as error:  # an older value than the last one: history only
        if not condition_failed(error):
            raise
    NetValueItem(STAGED, f"{value.day.isoformat()}#{value.code}").delete()


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
    try:
        item.save(condition=AgreementItem.pk.does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise
        if AgreementItem.get(AGREEMENT, version).sha256 != digest:
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

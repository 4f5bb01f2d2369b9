"""What anyone can do with the wealth catalogue, what a customer does before a first
purchase (the risk-tolerance assessment, the agreement), and what the bank's operators and
the nightly schedule do: the rules of service.py and suitability.py applied to products'
tables (store.py). Raises ApiError for anything refused."""
from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from functions.common import aws, clock, config, events, money, otp, pii
from functions.common.errors import (
    ApiError,
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    ValidationFailed,
    Validator,
)
from functions.common.log import get_logger
from functions.common.once import ModuleOnFirstUse
from functions.products import listing, service, suitability
from functions.products.service import Listed, NetValue, Product

if TYPE_CHECKING:
    from functions.common import dynamo
    from functions.products import store
else:  # the tables (and PynamoDB) load with the first answer that reads one: the catalogue reads none
    dynamo = ModuleOnFirstUse("functions.common.dynamo")
    store = ModuleOnFirstUse("functions.products.store")

HISTORY_DAYS = 90  # net values a product page charts
USER_AGENT_CHARS = 500  # of an acceptance's user agent kept
logger = get_logger()


def _listed(item: store.ProductItem) -> Listed:
    return Listed(item.product(), int(item.last_nav_e4) if item.last_nav_e4 is not None else None, item.last_nav_date)


def catalogue(risk: str | None = None, term: str | None = None) -> list[Listed]:
    """The products listed today (Asia/Shanghai), at a risk level and in a term band if asked."""
    found = {listed.product.code: listed for listed in listing.catalogue()}
    chosen = service.select((listed.product for listed in found.values()), clock.local().date(), risk, term)
    return [found[p.code] for p in chosen]


def _on_list(code: str) -> store.ProductItem:
    item = store.get(code) if service.CODE.fullmatch(code) else None
    if item is None or not service.listed(item.product(), clock.local().date()):
        raise NotFound("该理财产品不存在或已停售")
    return item


def product(code: str) -> tuple[Listed, list[NetValue]]:
    """A listed product and its recent net values (oldest first); 404 for any other code."""
    return _listed(_on_list(code)), store.history(code, HISTORY_DAYS)


def document(code: str, kind: str) -> tuple[Listed, service.Document]:
    """A listed product's document of `kind` at its current version; 404 for anything else."""
    item = _on_list(code)
    version = item.documents.get(kind) if kind in service.DOCUMENTS else None
    found = store.document(code, kind, version) if version else None
    if found is None:
        raise NotFound("未找到该产品文件")
    return _listed(item), found


def import_catalogue(products: Iterable[Product]) -> int:
    """Upsert checked products (the operator's import)."""
    return store.save_products(products)


def stage_net_values(values: list[NetValue]) -> tuple[int, list[str]]:
    """Stage checked net values for the nightly publication: (staged, unknown codes). Values
    of a product not in the catalogue are refused, all of them, and nothing is staged."""
    known = {item.sk for item in store.catalogue()}
    unknown = sorted({v.code for v in values} - known)
    if unknown:
        return 0, unknown
    return store.stage(values), []


def publish_net_values() -> int:
    """The nightly job: publish every staged net value of today and before; each product's
    last net value is its newest."""
    staged = store.staged_until(clock.local().date())
    store.publish(staged)
    logger.info("net values published", extra={"count": len(staged)})
    return len(staged)


# ----- before a first purchase: assessment and agreement ---------------------------------------

@dataclass(frozen=True)
class Standing:
    """The customer's risk-tolerance level as it stands now."""

    level: str | None  # of the newest assessment, valid or not
    expires: datetime | None
    valid: bool
    may_assess_here: bool  # online, or only at a branch (a first assessment, where the bank says so)


def standing(openid: str) -> Standing:
    settings = config.settings()
    last = store.last_assessment(openid)
    expires = clock.parse_utc(last.expires) if last else None
    return Standing(last.level if last else None, expires, suitability.valid(expires, clock.now()),
                    suitability.online_allowed(settings.wealth_first_assessment, last is not None))


def assess(openid: str, answers: dict[str, str]) -> store.Assessment:
    """Score the questionnaire and record the customer's new level; refused at a branch-only
    first assessment and past the day's limit (nothing recorded then)."""
    settings = config.settings()
    if not standing(openid).may_assess_here:
        raise Forbidden("assessment_in_branch", "首次风险承受能力评估须在网点办理，请预约理财经理")
    questionnaire = suitability.QUESTIONNAIRE
    score, level = suitability.score(questionnaire, answers)
    now = clock.now()
    assessment = store.Assessment(
        store.user_pk(openid), f"ASSESSMENT#{clock.iso(now)}#{uuid.uuid4().hex[:8]}", openid=openid,
        version=questionnaire.version, answers={q.id: answers[q.id].strip() for q in questionnaire.questions},
        score=score, level=level, assessed_at=clock.iso(now),
        expires=clock.iso(suitability.expires(now, settings.wealth_assessment_months)))
    if not store.record_assessment(assessment, clock.local(now).date(), settings.wealth_assessments_per_day):
        raise TooManyRequests("assessment_limit", f"每天最多评估{settings.wealth_assessments_per_day}次，请明天再试")
    return assessment


def agreement() -> store.AgreementItem:
    found = store.current_agreement()
    if found is None:
        raise ServiceUnavailable("理财服务协议暂不可用，请稍后再试")
    return found


def accept(openid: str, form: dict[str, str], source_ip: str, user_agent: str) -> store.Acceptance:
    """Record that the customer accepted the agreement's current version, as it was shown to
    them (its version and the hash of its text); the same acceptance again is the first."""
    v = Validator()
    if form.get("agree") not in ("true", "on"):
        v.add("agree", "required", "请阅读并勾选同意协议")
    v.check()
    current = agreement()
    if form.get("version") != current.version or form.get("sha256") != current.sha256:
        raise Conflict("agreement_changed", "协议已更新，请重新阅读后确认")
    found = store.accepted(openid, current.version)
    if found is not None:
        return found
    now = clock.iso(clock.now())
    acceptance = store.Acceptance(
        store.user_pk(openid), f"AGREEMENT#{current.version}#{now}#{uuid.uuid4().hex[:8]}", openid=openid,
        version=current.version, sha256=current.sha256, accepted_at=now,
        sealed=pii.seal({"source_ip": source_ip, "user_agent": user_agent[:USER_AGENT_CHARS]}, {"openid": openid}))
    store.record_acceptance(acceptance)
    return acceptance


def has_accepted(openid: str) -> bool:
    """Whether the customer accepted the agreement's current version (none published: no)."""
    current = store.current_agreement()
    return current is not None and store.accepted(openid, current.version) is not None


# ----- orders ----------------------------------------------------------------------------------

SOURCE = "products"
PLACE_ATTEMPTS = 5  # transactions lost to another one on the same quota or holding, tried again


def order_id_for(openid: str, idempotency_key: str) -> str:
    """The order a customer's idempotency key names: the same key again is the same order, and
    no other customer's key can name it."""
    return hashlib.sha256(f"{openid}\n{idempotency_key}".encode()).hexdigest()[:20].upper()


def _on_sale(code: str, day: date) -> store.ProductItem:
    item = store.get(code)
    if item is None:
        raise NotFound("该理财产品不存在或已停售")
    if not service.on_sale(item.product(), day):
        raise Conflict("not_on_sale", "该产品当前不在销售期内")
    return item


def _ready_to_buy(openid: str, product: Product) -> None:
    """403 unless the customer's assessment is valid, the product within it (R ≤ C) and the
    agreement's current version accepted (REFUSALS says which)."""
    refusal = REFUSALS.get(readiness(openid, product))
    if refusal is not None:
        raise Forbidden(*refusal)


def _new_order(openid: str, key: str, kind: str, code: str, amount_fen: int, card_ref: str, card_last4: str,
               **fields: Any) -> store.Order:
    now = clock.now()
    order_id = order_id_for(openid, key)
    at = clock.iso(now)
    return store.Order(
        store.order_pk(order_id), store.ORDER, order_id=order_id, openid=openid, kind=kind, code=code,
        amount_fen=amount_fen, card_last4=card_last4,
        sealed_card=pii.seal({"card_ref": card_ref}, {"openid": openid}), state="PENDING",
        trade_day=service.trade_day(clock.local(now)).isoformat(), placed_at=at, changed_at=at,
        user_pk=store.user_pk(openid), user_sk=f"ORDER#{at}#{order_id}", **fields)


def _same_order(found: store.Order, kind: str, code: str, amount_fen: int | None, units_e2: int | None) -> store.Order:
    """A retried request gets its order back (and it is sent again: core banking de-duplicates
    on the key); the key reused for another order is refused."""
    if found.kind != kind or found.code != code or (amount_fen is not None and found.amount_fen != amount_fen) \
            or (units_e2 is not None and found.units_e2 != units_e2):
        raise Conflict("idempotency_key_reused", "该请求标识已用于另一笔交易，请刷新页面后重试")
    if found.state == "PENDING":
        _send(found)
    _announce(found)
    return found


def place_order(openid: str, code: str, amount_fen: int, card_ref: str, card_last4: str,
                idempotency_key: str) -> store.Order:
    """Buy `amount_fen` of product `code` with the customer's card (verified by the caller:
    its reference and last four digits), exactly once per idempotency key. Refused: 403
    not_assessed / not_suitable / agreement_required, 400 field by field (the amount's
    minimum and increments), 404/409 a product not on sale, 409 quota_exhausted."""
    code, amount_fen, card_ref, card_last4, key = service.read_order(
        {"code": code, "amount_fen": amount_fen, "card_ref": card_ref, "card_last4": card_last4,
         "idempotency_key": idempotency_key})
    order_id = order_id_for(openid, key)
    for _attempt in range(PLACE_ATTEMPTS):
        found = store.get_order(order_id)
        if found is not None:
            return _same_order(found, "purchase", code, amount_fen, None)
        item = _on_sale(code, clock.local().date())
        product = item.product()
        _ready_to_buy(openid, product)
        service.check_amount(product, amount_fen)
        if amount_fen > service.quota_left(product, store.sold(code)):
            raise Conflict("quota_exhausted", "该产品额度已售罄或剩余额度不足")
        order = _new_order(openid, key, "purchase", code, amount_fen, card_ref, card_last4)
        try:
            store.place(order, quota_fen=product.quota_fen)
        except dynamo.Cancelled as lost:
            if "quota" in lost.failed:
                raise Conflict("quota_exhausted", "该产品额度已售罄或剩余额度不足") from None
            continue  # the order exists now (a concurrent retry), or a conflict: look again
        logger.info("order placed", extra={"order_id": order.order_id, "code": code, "amount_fen": amount_fen})
        _send(order)
        _announce(order)
        return order
    raise ServiceUnavailable()


def _send(order: store.Order) -> None:
    """The order to core banking, with its idempotency key (its order id)."""
    card_ref = pii.unseal(order.sealed_card, {"openid": order.openid})["card_ref"]
    _to_core_banking({"order_id": order.order_id, "idempotency_key": order.order_id, "kind": order.kind,
                      "code": order.code, "amount_fen": int(order.amount_fen), "units_e2": int(order.units_e2),
                      "card_ref": card_ref, "trade_day": order.trade_day})


def _to_core_banking(message: dict[str, Any]) -> None:
    aws.client("sqs").send_message(QueueUrl=config.settings().products_orders_queue_url,
                                   MessageBody=json.dumps(message))


def _announce(order: store.Order) -> None:
    """The change as a template message, through the notify queue (its id is the change's:
    announced again, it is delivered once)."""
    events.publish("wealth_order_changed", {
        "openid": order.openid, "order_id": order.order_id, "kind": order.kind,
        "product": _product_name(order.code), "amount_fen": int(order.amount_fen), "state": order.state,
        "reason": order.reason or "", "url": f"/products/orders/{order.order_id}",
    }, SOURCE, event_id=f"wealth_order_changed:{order.order_id}:{order.state}")


class InvalidResult(ValueError):
    """A result from core banking that cannot be applied; its reason goes with it to the
    dead-letter queue, and no order changes."""


def apply_result(result: Any) -> str:
    """Core banking's answer to an order: {order_id, result: CONFIRMED | FAILED, reason,
    amount_fen, nav (a confirmed purchase's net value, "1.0234"; the product's last one, or
    par, if absent)}. `changed`, or `duplicate` when the order already has that end (the
    change is announced again: delivered once). InvalidResult for a malformed result, an
    unknown order, an amount that is not the order's, or an order at another end."""
    if not isinstance(result, dict) or result.get("result") not in service.RESULTS \
            or not isinstance(result.get("order_id"), str):
        raise InvalidResult("malformed result")
    order = store.get_order(result["order_id"])
    if order is None:
        raise InvalidResult("unknown order")
    if result.get("amount_fen") != int(order.amount_fen):
        raise InvalidResult("amount is not the order's")
    to = str(result["result"])
    if order.state == to:
        _announce(order)
        return "duplicate"
    if not service.may_change(order.state, to):
        raise InvalidResult(f"order is {order.state}, result {to}")
    nav = None
    if to == "CONFIRMED" and order.kind == "purchase":
        nav = service.parse_nav(result["nav"]) if result.get("nav") is not None else _last_nav(order.code)
        if nav is None:
            raise InvalidResult("invalid nav")
    reason = (str(result.get("reason") or "")[:40] or None) if to == "FAILED" else None
    try:
        store.change(order, to, reason, clock.iso(clock.now()), nav)
    except dynamo.Cancelled:
        return apply_result(result)  # changed meanwhile (a cancellation, the same result): read it again
    logger.info("order changed", extra={"order_id": order.order_id, "state": to})
    _announce(order)
    return "changed"


def _last_nav(code: str) -> int:
    item = store.get(code)
    return item.trading_nav_e4() if item is not None else service.UNIT_NAV


def _product_name(code: str) -> str:
    item = store.get(code)
    return item.name if item is not None else code


def cancel_order(openid: str, order_id: str) -> store.Order:
    """The customer cancels their PENDING order before its trade day's cut-off (core banking
    is told); anyone else's order is 404, an order past that point 409 not_cancellable."""
    order = own_order(openid, order_id)
    if order.state == "CANCELLED":
        return order
    if not service.cancellable(order.state, date.fromisoformat(order.trade_day), clock.local()):
        raise Conflict("not_cancellable", "该订单已确认或已过当日交易截止时间（15:00），不能撤单")
    try:
        store.change(order, "CANCELLED", None, clock.iso(clock.now()))
    except dynamo.Cancelled:
        return cancel_order(openid, order_id)  # core banking answered meanwhile: read it again
    _to_core_banking({"order_id": order.order_id, "kind": "cancel"})
    _announce(order)
    return order


def own_order(openid: str, order_id: str) -> store.Order:
    """The customer's order; 404 for an unknown one and for anyone else's alike."""
    order = store.get_order(order_id) if service.ORDER_ID.fullmatch(order_id or "") else None
    if order is None or order.openid != openid:
        raise NotFound("未找到该订单")
    return order


# ----- holdings --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Position:
    """A product held: units (hundredths), their cost, the last net value and what they are worth."""

    code: str
    name: str
    kind: str
    units_e2: int
    cost_fen: int
    nav_e4: int
    nav_date: str | None
    value_fen: int
    redeemable: bool


@dataclass(frozen=True)
class Wealth:
    """What 我的理财 shows: the holdings, the orders newest first, and the products' names."""

    positions: list[Position]
    orders: list[store.Order]
    names: dict[str, str]


def mine(openid: str) -> Wealth:
    """The customer's holdings with units left, valued at each product's last net value (par
    where none is published), and their orders; the catalogue read once for both."""
    items = {item.sk: item for item in store.catalogue()}
    positions = []
    for held in store.holdings_of(openid):
        units = int(held.units_e2 or 0)
        product = items.get(str(held.code))
        if not units or product is None:
            continue
        nav = product.trading_nav_e4()
        positions.append(Position(product.sk, product.name, product.kind, units, int(held.cost_fen or 0), nav,
                                  product.last_nav_date, service.value_of(units, nav),
                                  service.redeemable(product.product())))
    return Wealth(positions, store.orders_of(openid), {code: item.name for code, item in items.items()})


def order(openid: str, order_id: str) -> tuple[store.Order, list[store.OrderStep], str]:
    """The customer's order, its steps and its product's name; 404 for anyone else's."""
    found = own_order(openid, order_id)
    return found, store.order_history(found.order_id), _product_name(found.code)


def redeem(openid: str, code: str, units_e2: int, idempotency_key: str) -> store.Order:
    """Sell `units_e2` of an open-ended product held back (exactly once per key), to the card
    the units were bought with; the money reaches it on the business day after the trade day
    (T+1). 400 on `units`; 404 for a product not held; 409 for a product that is not
    open-ended."""
    v = Validator()
    if isinstance(units_e2, bool) or not isinstance(units_e2, int) or units_e2 < 1:
        v.add("units", "invalid_units", "请输入正确的赎回份额")
    if not isinstance(idempotency_key, str) or not service.IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        v.add("idempotency_key", "invalid_key", "请求标识无效，请刷新页面后重试")
    v.check()
    order_id = order_id_for(openid, idempotency_key)
    for _attempt in range(PLACE_ATTEMPTS):
        found = store.get_order(order_id)
        if found is not None:
            return _same_order(found, "redemption", code, None, units_e2)
        item = store.get(code) if service.CODE.fullmatch(code) else None
        held = store.get_holding(openid, code) if item is not None else None
        if item is None or held is None or not held.units_e2:
            raise NotFound("未找到该持仓")
        if not service.redeemable(item.product()):
            raise Conflict("not_redeemable", "该产品不支持随时赎回，到期后自动兑付")
        held_e2 = int(held.units_e2)
        if units_e2 > held_e2:
            raise ValidationFailed([FieldError("units", "above_holding", f"最多可赎回{service.show_units(held_e2)}份")])
        nav = item.trading_nav_e4()
        last = store.last_purchase(openid, code)
        card_ref = pii.unseal(last.sealed_card, {"openid": openid})["card_ref"] if last else ""
        new = _new_order(openid, idempotency_key, "redemption", code, service.value_of(units_e2, nav), card_ref,
                         last.card_last4 if last else "0000", units_e2=units_e2,
                         cost_fen=service.cost_of_units(int(held.cost_fen or 0), held_e2, units_e2))
        try:
            store.place(new, holding=held)
        except dynamo.Cancelled:
            continue  # placed meanwhile (a retry) or the holding changed: read again
        _send(new)
        _announce(new)
        return new
    raise ServiceUnavailable()


# ----- cards: products' projection of the cards customers bind in notify ------------------------

def apply_card_event(event: dict[str, Any]) -> bool:
    """Apply a card_bound / card_unbound event (events.CUSTOMER_SCHEMAS, validated); safe to
    repeat and in any order: False when a newer change of the card was applied already."""
    data = event["data"]
    bound = event["type"] == "card_bound"
    applied = store.apply_card(data["openid"], data["card_ref"], data["card_last4"], data["at"], bound,
                               data.get("card_kind", ""), data.get("phone_masked", ""))
    logger.info("card change", extra={"event_id": event["id"], "type": event["type"], "applied": applied})
    return applied


def cards(openid: str) -> list[store.CardItem]:
    """The cards the customer has bound (debit and credit)."""
    return store.cards_of(openid)


# ----- purchase: the form, its step-up code, the order ----------------------------------------

REFUSALS = {  # suitability.readiness → the refusal of a purchase
    "assess": ("not_assessed", "购买前请先完成风险承受能力评估"),
    "expired": ("not_assessed", "您的风险承受能力评估已过期，请重新评估"),
    "above_level": ("not_suitable", "该产品风险等级高于您的风险承受能力，不能购买"),
    "agreement": ("agreement_required", "购买前请签署掌上理财服务协议"),
}


def readiness(openid: str, product: Product) -> str:
    """What stands between the customer and buying `product` (suitability.readiness)."""
    found = standing(openid)
    return suitability.readiness(found.level, found.valid, has_accepted(openid), product.risk)


def _ready(openid: str, code: str) -> Product:
    """The listed product the customer may buy now; 404 / 403 with the reason otherwise."""
    product = _on_list(code).product()
    _ready_to_buy(openid, product)
    return product


def _debit_card(openid: str, card_ref: str, v: Validator) -> store.CardItem | None:
    """The customer's own bound debit card named `card_ref`, or a field error."""
    found = next((c for c in store.cards_of(openid) if c.card_ref == card_ref), None) if card_ref else None
    if found is None:
        v.add("card_ref", "card_required" if not card_ref else "card_unknown", "请选择本人已绑定的借记卡")
    elif found.kind != "debit":
        v.add("card_ref", "debit_card_required", "理财产品须使用借记卡购买，请选择借记卡")
        return None
    return found


def request_purchase_code(openid: str, code: str, card_ref: str) -> dict[str, Any]:
    """Text a step-up code for buying `code` to the mobile number on file of the chosen card:
    products keeps its hash, notify (which alone knows the number) sends it. One a minute,
    PER_OPENID_DAY a day; a new code replaces the last."""
    _ready(openid, code)
    v = Validator()
    card = _debit_card(openid, card_ref, v)
    v.check()
    assert card is not None
    sms_code = otp.new_code()
    hashed = otp.code_hash(openid, sms_code)
    refused = store.save_stepup(openid, hashed, card.card_ref, otp.TTL_S, otp.RESEND_S, clock.local().date(),
                                otp.PER_OPENID_DAY)
    if refused == "resend":
        raise TooManyRequests("otp_rate_limited", "验证码发送过于频繁，请稍后再试")
    if refused == "day":
        raise TooManyRequests("otp_rate_limited", "今日获取验证码次数过多，请明天再试")
    events.publish("stepup_code_requested", {
        "openid": openid, "card_ref": card.card_ref, "code": sms_code, "purpose": "purchase",
        "expires_at": clock.epoch() + otp.TTL_S,
    }, "products", event_id=f"stepup_code_requested:{hashed[:32]}")
    return {"card": pii.mask_card(card.last4), "phone": card.phone_masked, "expires_in": otp.TTL_S,
            "resend_in": otp.RESEND_S}


def confirm_purchase(openid: str, code: str, form: dict[str, str]) -> store.Order:
    """Place the order the form describes once its step-up code matches: every field checked
    first (nothing stored on a refusal), then the customer's standing, then the code (spent by
    this purchase's idempotency key, so a retried request after it was spent places, and
    returns, the same order; refused by place_order, it is released for the corrected form)."""
    v = Validator()
    card = _debit_card(openid, form.get("card_ref", ""), v)
    amount_fen = money.fen(form.get("amount", ""))
    if amount_fen is None or amount_fen <= 0:
        v.add("amount", "invalid_amount", "请输入正确的购买金额（元，最多两位小数）")
    if form.get("disclosure") not in ("true", "on"):
        v.add("disclosure", "required", "请阅读并确认风险揭示书")
    if otp.typed(form.get("code", "")) is None:
        v.add("code", "invalid_code", "请输入6位数字验证码")
    key = form.get("idempotency_key", "")
    if not service.IDEMPOTENCY_KEY.fullmatch(key):
        v.add("idempotency_key", "invalid_key", "页面已过期，请刷新后重试")
    v.check()
    assert card is not None and amount_fen is not None
    _ready(openid, code)
    stepup = _spend_stepup(openid, card.card_ref, form["code"], key)
    try:
        return place_order(openid, code, amount_fen, card.card_ref, card.last4, key)
    except ApiError as error:
        if error.status < 500:
            store.release_stepup(stepup, key)
        raise


def _spend_stepup(openid: str, card_ref: str, typed: str, key: str) -> store.StepUpItem:
    """The customer's step-up code, checked and spent by the purchase `key` (or spent by it
    already: a retried request)."""
    stored = store.stepup(openid)
    if stored is not None and stored.spent_by not in (None, key):
        stored = None  # it confirmed another purchase
    if stored is not None and stored.card_ref != card_ref:
        raise ApiError(400, "otp_wrong_card", "验证码不是发给所选银行卡预留手机号的，请重新获取")
    if stored is not None and stored.spent_by == key:
        return stored
    otp.verify(stored, openid, typed, lambda found: store.spend_stepup_try(found, otp.TRIES),
               lambda: store.discard_stepup(openid))
    assert stored is not None
    if not store.spend_stepup(stored, key):
        again = store.stepup(openid)
        if again is None or again.spent_by != key:
            raise ApiError(400, "otp_expired", "验证码已失效，请重新获取")
    return stored

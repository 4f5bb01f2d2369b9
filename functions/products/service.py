"""The rules of wealth products: what a catalogue entry must hold, when a product is on
sale, how the catalogue is filtered, and what a net value is. Plain Python: no I/O, no
settings read here.

A performance benchmark is a range in basis points, never a promised yield; amounts are
integer fen; a net value per unit is an integer in ten-thousandths of a yuan (1.0234 →
10234); dates are Asia/Shanghai calendar days.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from functions.common.errors import FieldError, ValidationFailed, Validator
from functions.common.money import yuan

# What the bank sells, by code; the names customers read.
KINDS = {"cash": "现金管理类", "fixed": "固定期限", "open": "开放式净值型"}
RISK_LEVELS = {"R1": "R1 低风险", "R2": "R2 中低风险", "R3": "R3 中风险", "R4": "R4 中高风险", "R5": "R5 高风险"}
STATUSES = {"on_sale": "在售", "upcoming": "即将发售", "paused": "暂停销售", "closed": "已停售"}
DOCUMENTS = {"prospectus": "产品说明书", "risk_disclosure": "风险揭示书", "sales_agreement": "销售协议"}
# The catalogue's term filter: (label, shortest, longest) in days; open-ended products have none.
TERMS = {
    "none": ("无固定期限", 0, 0),
    "short": ("3个月以内", 1, 92),
    "medium": ("3–12个月", 93, 366),
    "long": ("1年以上", 367, 36600),
}

CODE = re.compile(r"^[A-Z0-9]{4,20}$")
VERSION = re.compile(r"^[0-9A-Za-z.\-]{1,20}$")
MAX_NAME = 40
MAX_DOCUMENT = 50_000
MAX_BENCHMARK_BP = 2_000  # 20 %: anything above is a typing error, not a product
MAX_TERM_DAYS = 3_660
MAX_AMOUNT_FEN = 10**12  # ten billion yuan
NAV_RANGE = (1, 10**7)  # 0.0001 to 1,000.0000 yuan per unit


@dataclass(frozen=True)
class Document:
    kind: str
    version: str
    text: str

    @property
    def sha256(self) -> str:
        return text_hash(self.text)


def text_hash(text: str) -> str:
    """The SHA-256 of a document's text as shown, kept with every acceptance of it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    issuer: str
    kind: str
    risk: str
    benchmark_low_bp: int
    benchmark_high_bp: int
    term_days: int  # 0: no fixed term (cash management, open-ended)
    min_purchase_fen: int
    increment_fen: int
    window_start: date
    window_end: date
    quota_fen: int
    status: str
    documents: tuple[Document, ...] = field(default=())

    @property
    def risk_rank(self) -> int:
        return int(self.risk[1])


@dataclass(frozen=True)
class Listed:
    """A product as the catalogue shows it, with its last published net value."""

    product: Product
    nav_e4: int | None
    nav_date: str | None


@dataclass(frozen=True)
class NetValue:
    code: str
    day: date
    nav_e4: int


# ----- import: field by field ----------------------------------------------------------------

def _text(v: Validator, raw: Mapping[str, Any], name: str, limit: int, message: str) -> str:
    value = raw.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if not value:
        v.add(name, "required", message)
    elif len(value) > limit:
        v.add(name, "too_long", f"不能超过{limit}个字")
    return value


def _whole(v: Validator, raw: Mapping[str, Any], name: str, low: int, high: int, message: str) -> int | None:
    """A whole number from JSON (an int) or CSV (its digits), within [low, high]; None when
    refused (so no later rule reports the same field again)."""
    value = raw.get(name)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,15}\s*", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        v.add(name, "not_a_whole_number", message)
        return None
    if not low <= value <= high:
        v.add(name, "out_of_range", message)
        return None
    return value


def _choice(v: Validator, raw: Mapping[str, Any], name: str, choices: Mapping[str, str], message: str) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or value.strip() not in choices:
        v.add(name, "invalid_choice", message)
        return ""
    return value.strip()


def _day(v: Validator, raw: Mapping[str, Any], name: str, message: str) -> date | None:
    value = raw.get(name)
    text = value.strip() if isinstance(value, str) else ""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    v.add(name, "invalid_date", message)
    return None


def read_product(raw: Mapping[str, Any]) -> Product:
    """A catalogue entry from one row of an import file (JSON object or CSV row), every
    field checked; ValidationFailed lists each bad field."""
    v = Validator()
    code = raw.get("code")
    code = code.strip() if isinstance(code, str) else ""
    if not CODE.fullmatch(code):
        v.add("code", "invalid_code", "产品代码为4–20位大写字母或数字")
    name = _text(v, raw, "name", MAX_NAME, "请填写产品名称")
    issuer = _text(v, raw, "issuer", MAX_NAME, "请填写发行机构")
    kind = _choice(v, raw, "kind", KINDS, "产品类型须为 cash、fixed 或 open")
    risk = _choice(v, raw, "risk", RISK_LEVELS, "风险等级须为 R1–R5")
    low = _whole(v, raw, "benchmark_low_bp", 0, MAX_BENCHMARK_BP, "业绩比较基准下限为0–2000个基点")
    high = _whole(v, raw, "benchmark_high_bp", 0, MAX_BENCHMARK_BP, "业绩比较基准上限为0–2000个基点")
    if low is not None and high is not None and high < low:
        v.add("benchmark_high_bp", "range_inverted", "业绩比较基准上限不能低于下限")
    term = _whole(v, raw, "term_days", 0, MAX_TERM_DAYS, f"期限为0–{MAX_TERM_DAYS}天")
    if kind == "fixed" and term == 0:
        v.add("term_days", "term_required", "固定期限产品须有期限")
    if kind in ("cash", "open") and term:
        v.add("term_days", "term_not_allowed", "现金管理类和开放式产品无固定期限，期限填0")
    minimum = _whole(v, raw, "min_purchase_fen", 1, MAX_AMOUNT_FEN, "起购金额须为正整数（分）")
    step = _whole(v, raw, "increment_fen", 1, MAX_AMOUNT_FEN, "递增金额须为正整数（分）")
    quota = _whole(v, raw, "quota_fen", 1, MAX_AMOUNT_FEN, "总额度须为正整数（分）")
    if minimum is not None and quota is not None and minimum > quota:
        v.add("quota_fen", "below_minimum", "总额度不能低于起购金额")
    start = _day(v, raw, "window_start", "销售开始日期格式为 YYYY-MM-DD")
    end = _day(v, raw, "window_end", "销售结束日期格式为 YYYY-MM-DD")
    if start and end and end < start:
        v.add("window_end", "window_inverted", "销售结束日期不能早于开始日期")
    status = _choice(v, raw, "status", STATUSES, "状态须为 on_sale、upcoming、paused 或 closed")
    documents = _documents(v, raw)
    v.check()  # every value below is set: a refused one raised here
    values: dict[str, Any] = {
        "code": code, "name": name, "issuer": issuer, "kind": kind, "risk": risk, "benchmark_low_bp": low,
        "benchmark_high_bp": high, "term_days": term, "min_purchase_fen": minimum, "increment_fen": step,
        "window_start": start, "window_end": end, "quota_fen": quota, "status": status, "documents": documents,
    }
    return Product(**values)


def _documents(v: Validator, raw: Mapping[str, Any]) -> tuple[Document, ...]:
    """The three product documents at `documents_version`, each a text of its own field."""
    version = raw.get("documents_version")
    version = version.strip() if isinstance(version, str) else ""
    if not VERSION.fullmatch(version):
        v.add("documents_version", "invalid_version", "文件版本为1–20位字母、数字、点或连字符")
    return tuple(Document(kind, version, _text(v, raw, kind, MAX_DOCUMENT, f"请提供{title}"))
                 for kind, title in DOCUMENTS.items())


def read_catalogue(rows: Iterable[Mapping[str, Any]]) -> tuple[list[Product], list[tuple[int, str, list[FieldError]]]]:
    """(valid products, rejections as (row number from 1, code, field errors)); a code given
    twice is rejected the second time."""
    valid: list[Product] = []
    rejected: list[tuple[int, str, list[FieldError]]] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, 1):
        code = str(row.get("code") or "") if isinstance(row, Mapping) else ""
        if not isinstance(row, Mapping):
            rejected.append((number, "", [FieldError("row", "not_an_object", "每一行须为一个对象")]))
            continue
        try:
            product = read_product(row)
        except ValidationFailed as error:
            rejected.append((number, code, error.fields))
            continue
        if product.code in seen:
            rejected.append((number, code, [FieldError("code", "duplicate", "产品代码重复")]))
            continue
        seen.add(product.code)
        valid.append(product)
    return valid, rejected


def read_net_value(raw: Mapping[str, Any]) -> NetValue:
    """One nightly net value: `code`, `date` (YYYY-MM-DD) and `nav` (a decimal with at most
    four places, e.g. "1.0234")."""
    v = Validator()
    code = raw.get("code")
    code = code.strip() if isinstance(code, str) else ""
    if not CODE.fullmatch(code):
        v.add("code", "invalid_code", "产品代码为4–20位大写字母或数字")
    day = _day(v, raw, "date", "日期格式为 YYYY-MM-DD")
    nav = parse_nav(raw.get("nav"))
    if nav is None:
        v.add("nav", "invalid_nav", "单位净值为0.0001–1000.0000之间、最多四位小数的数")
    v.check()
    values: dict[str, Any] = {"code": code, "day": day, "nav_e4": nav}
    return NetValue(**values)


def parse_nav(value: Any) -> int | None:
    """A net value as integer ten-thousandths, or None when it is not one."""
    text = str(value).strip() if isinstance(value, (str, int, float)) and not isinstance(value, bool) else ""
    match = re.fullmatch(r"(\d{1,4})(?:\.(\d{1,4}))?", text)
    if not match:
        return None
    nav = int(match.group(1)) * 10_000 + int((match.group(2) or "").ljust(4, "0"))
    return nav if NAV_RANGE[0] <= nav <= NAV_RANGE[1] else None


# ----- the catalogue ---------------------------------------------------------------------------

def on_sale(product: Product, day: date) -> bool:
    """Sold on `day` (Asia/Shanghai): marked on sale and inside its sales window."""
    return product.status == "on_sale" and product.window_start <= day <= product.window_end


def listed(product: Product, day: date) -> bool:
    """Shown in the catalogue: on sale, or soon to be, and not past its window."""
    return product.status in ("on_sale", "upcoming") and day <= product.window_end


def in_term(product: Product, term: str) -> bool:
    _, shortest, longest = TERMS[term]
    return shortest <= product.term_days <= longest


def select(products: Iterable[Product], day: date, risk: str | None = None, term: str | None = None) -> list[Product]:
    """The catalogue as listed on `day`, optionally at one risk level and in one term band;
    lowest risk first, then shortest term, then code."""
    found = [p for p in products if listed(p, day) and (not risk or p.risk == risk) and (not term or in_term(p, term))]
    return sorted(found, key=lambda p: (p.risk_rank, p.term_days, p.code))


def filters(query: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(risk, term) of the catalogue's query; an unknown value is a 400 naming its field."""
    v = Validator()
    risk, term = query.get("risk") or None, query.get("term") or None
    if risk and risk not in RISK_LEVELS:
        v.add("risk", "invalid_choice", "请选择R1–R5的风险等级")
    if term and term not in TERMS:
        v.add("term", "invalid_choice", "请选择有效的期限")
    v.check()
    return risk, term


def show_benchmark(product: Product) -> str:
    """`2.50%–3.20%` (a single figure when low and high are the same)."""
    low, high = (f"{bp // 100}.{bp % 100:02d}%" for bp in (product.benchmark_low_bp, product.benchmark_high_bp))
    return low if low == high else f"{low}–{high}"


def show_term(product: Product) -> str:
    return f"{product.term_days}天" if product.term_days else "无固定期限"


def show_nav(nav_e4: int) -> str:
    return f"{nav_e4 // 10_000}.{nav_e4 % 10_000:04d}"



# ----- orders ----------------------------------------------------------------------------------

CUT_OFF = time(15, 0)  # Asia/Shanghai: an order before it trades that day, after it the next business day
ORDER_STATES = {"PENDING": "处理中", "CONFIRMED": "已确认", "FAILED": "失败", "CANCELLED": "已撤单"}
# The only changes of an order's state: from PENDING, once, to an end.
TRANSITIONS = {"PENDING": frozenset({"CONFIRMED", "FAILED", "CANCELLED"})}
# What core banking may answer (CANCELLED is the customer's alone).
RESULTS = frozenset({"CONFIRMED", "FAILED"})
ORDER_KINDS = {"purchase": "申购", "redemption": "赎回"}
ORDER_ID = re.compile(r"^[0-9A-F]{20}$")
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
CARD_REF = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LAST4 = re.compile(r"^[0-9]{4}$")
UNIT_NAV = 10_000  # a net value of 1.0000: products without published net values trade at par


def business_day(day: date) -> bool:
    """Monday to Friday. A holiday calendar is not kept: a holiday trades as a weekday."""
    return day.weekday() < 5


def next_business_day(day: date) -> date:
    day += timedelta(days=1)
    while not business_day(day):
        day += timedelta(days=1)
    return day


def trade_day(at_local: datetime) -> date:
    """The day an order placed at `at_local` (Asia/Shanghai wall time) trades: that day before
    the cut-off on a business day; otherwise the next business day (Saturday's and Sunday's
    orders trade on Monday)."""
    day = at_local.date()
    if business_day(day) and at_local.time() < CUT_OFF:
        return day
    return next_business_day(day)


def cancellable(state: str, trade: date, at_local: datetime) -> bool:
    """A customer may cancel an order still PENDING before its trade day's cut-off."""
    return state == "PENDING" and at_local < datetime.combine(trade, CUT_OFF, tzinfo=at_local.tzinfo)


def settlement_day(trade: date) -> date:
    """A redemption's money reaches the card on the business day after its trade day (T+1)."""
    return next_business_day(trade)


def may_change(state: str, to: str) -> bool:
    return to in TRANSITIONS.get(state, ())


def read_order(raw: Mapping[str, Any]) -> tuple[str, int, str, str, str]:
    """(code, amount_fen, card_ref, card_last4, idempotency_key), every field checked;
    ValidationFailed names each bad one."""
    v = Validator()
    code = raw.get("code")
    if not isinstance(code, str) or not CODE.fullmatch(code):
        v.add("code", "invalid_code", "请选择理财产品")
    amount = raw.get("amount_fen")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= MAX_AMOUNT_FEN:
        v.add("amount", "invalid_amount", "请输入正确的购买金额")
    card_ref, last4 = raw.get("card_ref"), raw.get("card_last4")
    if not isinstance(card_ref, str) or not CARD_REF.fullmatch(card_ref):
        v.add("card", "invalid_card", "请选择扣款银行卡")
    elif not isinstance(last4, str) or not LAST4.fullmatch(last4):
        v.add("card", "invalid_card", "请选择扣款银行卡")
    key = raw.get("idempotency_key")
    if not isinstance(key, str) or not IDEMPOTENCY_KEY.fullmatch(key):
        v.add("idempotency_key", "invalid_key", "请求标识无效，请刷新页面后重试")
    v.check()
    return str(code), int(amount), str(card_ref), str(last4), str(key)  # type: ignore[arg-type]


def check_amount(product: Product, amount_fen: int) -> None:
    """At least the product's minimum, in its increments above it; ValidationFailed on `amount`."""
    v = Validator()
    if amount_fen < product.min_purchase_fen:
        v.add("amount", "below_minimum", f"起购金额为{yuan(product.min_purchase_fen)}")
    elif (amount_fen - product.min_purchase_fen) % product.increment_fen:
        v.add("amount", "not_in_increments",
              f"购买金额须为起购金额{yuan(product.min_purchase_fen)}加{yuan(product.increment_fen)}的整数倍")
    v.check()


def quota_left(product: Product, sold_fen: int) -> int:
    return max(product.quota_fen - sold_fen, 0)


# ----- holdings --------------------------------------------------------------------------------

def units_for(amount_fen: int, nav_e4: int) -> int:
    """Units (in hundredths) an amount buys at a net value, rounded down as registrars do."""
    return amount_fen * UNIT_NAV // nav_e4


def value_of(units_e2: int, nav_e4: int) -> int:
    """What units (in hundredths) are worth at a net value, in fen, rounded down."""
    return units_e2 * nav_e4 // UNIT_NAV


def cost_of_units(cost_fen: int, held_e2: int, units_e2: int) -> int:
    """The share of a holding's cost that `units_e2` of its `held_e2` units carry (rounded
    down; the last units redeemed carry what is left)."""
    return cost_fen if units_e2 >= held_e2 else cost_fen * units_e2 // held_e2


def parse_units(value: Any) -> int | None:
    """Units as a customer types them ("1000", "1,000.5", at most two places) in hundredths,
    or None when it is not such a number."""
    text = value.strip().replace(",", "") if isinstance(value, str) else ""
    match = re.fullmatch(r"(\d{1,12})(?:\.(\d{1,2}))?", text)
    return int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0")) if match else None


def show_units(units_e2: int) -> str:
    return f"{units_e2 // 100:,}.{units_e2 % 100:02d}"


def redeemable(product: Product) -> bool:
    """Only open-ended net-value products are redeemed on demand."""
    return product.kind == "open"

"""The rules of a loan or credit card application, in plain Python: the form field by field,
the pre-screen shown the moment it is submitted, the status workflow, and the checks on the
back office's queue filter. No I/O: the catalogue comes in as an argument.

Pre-screen: guidance, never a credit decision (staff decide). Thresholds come from the
catalogue. Monthly instalment, for loans: equal monthly instalments (等额本息) at the
product's reference rate, M = P·r·(1+r)^n / ((1+r)^n − 1) with r = annual rate / 12 and
n = term in months, rounded up to the fen. For credit cards: the minimum repayment on a
fully used limit, M = limit × minimum-payment rate. The instalment-to-income ratio is
M / monthly income.

Status: SUBMITTED → UNDER_REVIEW → APPROVED | REJECTED; the applicant may withdraw before a
decision. Anything not listed in TRANSITIONS is an illegal transition.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal, localcontext

from functions.common import clock, money, paging, staff
from functions.common.errors import Conflict, FieldError, Forbidden, ValidationFailed, Validator
from functions.loan_apply.catalogue import Catalogue, Product

# ---- the form ----------------------------------------------------------------------------
# Every bad field is reported at once with a stable code and a Chinese message, and nothing
# is stored until all of them are good. Messages never repeat what was typed (they end up in
# logs and error pages).

FIELD_LABELS = {
    "name": "姓名",
    "id_number": "身份证号码",
    "phone": "手机号码",
    "product": "申请产品",
    "amount": "申请金额",
    "term": "期限",
    "monthly_income": "月收入",
    "employment_type": "职业类型",
    "purpose": "用途",
    "city": "所在城市",
}
PERSONAL_FIELDS = ("name", "id_number", "phone")
# Patterns with a range of Chinese characters take about 1 ms each to compile: compiled (and
# cached by `re`) at their first match, so that pages and intents that check no name pay none.
_NAME = r"^[\u4e00-\u9fa5A-Za-z][\u4e00-\u9fa5A-Za-z·. ]{0,28}[\u4e00-\u9fa5A-Za-z]$"
_CITY = r"^[\u4e00-\u9fa5]{2,20}$"
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_MAX_FEN = 10**12  # ten billion yuan: anything above is a typing slip, not an amount
_TRUE = {"true", "on", "1", "yes"}
CHOOSE_PRODUCT = "请选择申请产品"
PHONE_INVALID = "请输入有效的中国大陆手机号码"
ID_NUMBER_FORMAT = "请输入18位居民身份证号码"


@dataclass(frozen=True)
class ApplicationInput:
    name: str
    id_number: str
    phone: str
    product: str
    amount_fen: int
    term_months: int | None
    monthly_income_fen: int
    employment_type: str
    purpose: str | None
    city: str
    consent_version: str
    birth_date: date

    def personal(self) -> dict[str, str]:
        """The fields sealed with KMS; everything else is stored as is."""
        return {"name": self.name, "id_number": self.id_number, "phone": self.phone}


def _text(form: dict, key: str) -> str:
    value = form.get(key)
    return "" if value is None else str(value).strip()


def resident_id(raw: str, v: Validator) -> tuple[str, date] | None:
    """An 18-digit resident ID with a good checksum, birth date and area code (python-stdnum)."""
    from stdnum import exceptions
    from stdnum.cn import ric

    try:
        number = ric.validate(raw)
    except exceptions.InvalidChecksum:
        v.add("id_number", "id_number_checksum", "身份证号码校验位不正确，请核对")
    except (exceptions.InvalidLength, exceptions.InvalidFormat):
        v.add("id_number", "id_number_format", ID_NUMBER_FORMAT)
    except (exceptions.ValidationError, KeyError):  # stdnum 2.2 raises KeyError for a province-only match
        number = ric.compact(raw)
        if _birth_date_and_known_area(number):
            return number, ric.get_birth_date(number)
        v.add("id_number", "id_number_invalid", "身份证号码中的出生日期或地区码无效")
    else:
        return number, ric.get_birth_date(number)
    return None


def _birth_date_and_known_area(number: str) -> bool:
    """stdnum also wants the area to have existed in the birth year, but the area code is
    where the number was first issued (from 1984), so a customer born in 1960 in a district
    created later holds a real number. Accept a real date with an area code that ever existed."""
    from stdnum import exceptions, numdb
    from stdnum.cn import ric

    try:
        ric.get_birth_date(number)
    except exceptions.ValidationError:
        return False
    return any("county" in props for _part, props in numdb.get("cn/loc").info(number[:6]))


def mainland_mobile(raw: str, v: Validator) -> str | None:
    """A mainland China mobile number as 11 national digits (phonenumbers' metadata)."""
    import phonenumbers
    from phonenumbers import PhoneNumberType

    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        number = None
    mobile = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
    if (number is None or number.country_code != 86 or not phonenumbers.is_valid_number(number)
            or phonenumbers.number_type(number) not in mobile):
        v.add("phone", "phone_invalid", PHONE_INVALID)
        return None
    return str(number.national_number)


def required_message(key: str) -> str:
    return f"请填写{FIELD_LABELS[key]}"


def not_a_number_message(key: str) -> str:
    return f"{FIELD_LABELS[key]}请填写数字，最多两位小数"


def amount_range_message(product: Product) -> str:
    return f"{product.name}可申请{money.yuan(product.min_amount_fen)}至{money.yuan(product.max_amount_fen)}"


def step_checks(catalogue: Catalogue) -> dict:
    """What the form checks on the phone before it moves to the next step, in the words the
    server answers with (the server checks everything again on submit)."""
    return {
        "required": {key: required_message(key) for key in FIELD_LABELS},
        "not_a_number": {key: not_a_number_message(key) for key in ("amount", "monthly_income")},
        "amount_range": {code: amount_range_message(p) for code, p in catalogue.products.items()},
        "product": CHOOSE_PRODUCT,
        "phone": PHONE_INVALID,
        "id_number": ID_NUMBER_FORMAT,
    }


def yuan_to_fen(raw: str, field_name: str, v: Validator, *, allow_zero: bool = False) -> int | None:
    """`12345.6` yuan → 1234560 fen, exactly, as money.fen reads what a customer typed."""
    fen = money.fen(raw)
    if fen is None:
        v.add(field_name, f"{field_name}_invalid", not_a_number_message(field_name))
        return None
    if (fen == 0 and not allow_zero) or fen >= _MAX_FEN:
        v.add(field_name, f"{field_name}_invalid", f"{FIELD_LABELS[field_name]}超出有效范围")
        return None
    return fen


def parse_form(form: dict, catalogue: Catalogue) -> ApplicationInput:
    """Check a submitted form (JSON or urlencoded); raises ValidationFailed with every bad field."""
    v = Validator()
    values = {key: _text(form, key) for key in FIELD_LABELS}
    product = catalogue.product(values["product"])
    if product is None:
        v.add("product", "required" if not values["product"] else "product_unknown", CHOOSE_PRODUCT)
        required: tuple[str, ...] = tuple(k for k in FIELD_LABELS if k not in ("term", "purpose"))
    else:
        required = product.required_fields
    for key in required:
        if key != "product" and not values[key]:
            v.add(key, "required", required_message(key))
    present = {k for k in required if values[k]}

    name = values["name"] if "name" in present else ""
    if name and not re.match(_NAME, name):
        v.add("name", "name_invalid", "姓名应为2至30个汉字或字母")
    id_found = resident_id(values["id_number"], v) if "id_number" in present else None
    phone = mainland_mobile(values["phone"], v) if "phone" in present else None
    amount = yuan_to_fen(values["amount"], "amount", v) if "amount" in present else None
    income = yuan_to_fen(values["monthly_income"], "monthly_income", v, allow_zero=True) \
        if "monthly_income" in present else None

    term: int | None = None
    if "term" in present:
        if values["term"].isdigit() and 0 < int(values["term"]) <= 600:
            term = int(values["term"])
        else:
            v.add("term", "term_invalid", "期限请填写月数")
    if product is not None:
        within_product(product, amount, term, v)
    employment = values["employment_type"]
    if "employment_type" in present and employment not in catalogue.employment_types:
        v.add("employment_type", "employment_type_invalid", "请选择职业类型")
    purpose = values["purpose"] or None
    if "purpose" in present and product is not None and purpose not in product.purposes:
        v.add("purpose", "purpose_invalid", "请选择用途")
    city = values["city"]
    if "city" in present and not re.match(_CITY, city):
        v.add("city", "city_invalid", "所在城市请填写2至20个汉字")

    if _text(form, "consent").lower() not in _TRUE:
        v.add("consent", "consent_required", f"请阅读并同意《{catalogue.consent_title}》")
    elif _text(form, "consent_version") != catalogue.consent_version:
        v.add("consent", "consent_outdated", "授权书已更新，请刷新页面后重新阅读并同意")
    v.check()

    assert product is not None and id_found is not None and phone is not None  # v.check() above guarantees these
    assert amount is not None and income is not None
    return ApplicationInput(
        name=name,
        id_number=id_found[0],
        phone=phone,
        product=product.code,
        amount_fen=amount,
        term_months=term if product.terms_months else None,
        monthly_income_fen=income,
        employment_type=employment,
        purpose=purpose if product.purposes else None,
        city=city,
        consent_version=catalogue.consent_version,
        birth_date=id_found[1],
    )


def within_product(product: Product, amount_fen: int | None, term_months: int | None, v: Validator) -> None:
    """The product's amount range and terms are limits of the form, not reasons of the
    pre-screen: an amount outside them is never stored."""
    if amount_fen is not None and not product.min_amount_fen <= amount_fen <= product.max_amount_fen:
        v.add("amount", "amount_out_of_range", amount_range_message(product))
    if term_months is not None and product.terms_months and term_months not in product.terms_months:
        v.add("term", "term_out_of_range", f"{product.name}期限可选{'、'.join(map(str, product.terms_months))}个月")


def parse_submission(form: dict, idempotency_key: str | None, catalogue: Catalogue) -> tuple[ApplicationInput, str]:
    """The form and the submit's idempotency key (the page's or the client's), every bad
    field reported at once."""
    key = (idempotency_key or "").strip()
    stale = FieldError("idempotency_key", "idempotency_key_invalid", "页面已过期，请刷新后重试")
    try:
        parsed = parse_form(form, catalogue)
    except ValidationFailed as failed:
        if not _IDEMPOTENCY_KEY.match(key):
            failed.fields.append(stale)
        raise
    if not _IDEMPOTENCY_KEY.match(key):
        raise ValidationFailed([stale])
    return parsed, key


def age_on(birth: date, today: date) -> int:
    """Age in whole years; someone born on 29 February turns a year older on 1 March."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


# ---- pre-screen --------------------------------------------------------------------------

ELIGIBLE, NEEDS_REVIEW, NOT_ELIGIBLE = "eligible", "needs_review", "not_eligible"
VERDICT_LABELS = {ELIGIBLE: "初步符合条件", NEEDS_REVIEW: "需人工审核", NOT_ELIGIBLE: "暂不符合条件"}
DISCLAIMER = "预审结果仅供参考，不构成授信决定，最终以银行审批结果为准。"


@dataclass(frozen=True)
class Reason:
    code: str
    outcome: str  # NEEDS_REVIEW or NOT_ELIGIBLE
    message: str


@dataclass(frozen=True)
class Prescreen:
    verdict: str
    reasons: tuple[Reason, ...]
    instalment_fen: int | None
    ratio_bp: int | None  # instalment / income in basis points


def monthly_instalment(product: Product, amount_fen: int, term_months: int | None) -> int | None:
    """The monthly payment the formula in the module docstring gives, in fen."""
    with localcontext() as ctx:
        ctx.prec = 40
        if product.kind == "card":
            m = Decimal(amount_fen) * product.min_payment_bp / 10000
        elif not term_months:
            return None
        elif product.annual_rate_bp == 0:
            m = Decimal(amount_fen) / term_months
        else:
            r = Decimal(product.annual_rate_bp) / 10000 / 12
            growth = (1 + r) ** term_months
            m = Decimal(amount_fen) * r * growth / (growth - 1)
        return int(m.to_integral_value(rounding=ROUND_CEILING))


def prescreen(catalogue: Catalogue, form: ApplicationInput, age: int) -> Prescreen:
    """The verdict on a form parse_form accepted (its amount and term within the product),
    with the reasons for that verdict only: a refusal does not also list what would merely
    need a review."""
    product = catalogue.products[form.product]
    reasons: list[Reason] = []

    def no(code: str, message: str) -> None:
        reasons.append(Reason(code, NOT_ELIGIBLE, message))

    def review(code: str, message: str) -> None:
        reasons.append(Reason(code, NEEDS_REVIEW, message))

    if not product.min_age <= age <= product.max_age:
        no("age", f"申请人年龄需在{product.min_age}至{product.max_age}周岁之间")
    if product.allowed_employment and form.employment_type not in product.allowed_employment:
        allowed = "、".join(catalogue.employment_types[e] for e in product.allowed_employment)
        no("employment_not_eligible", f"{product.name}仅面向{allowed}")

    instalment = monthly_instalment(product, form.amount_fen, form.term_months)
    ratio = None
    if instalment is not None:
        if form.monthly_income_fen <= 0:
            no("no_income", "需有稳定的月收入")
        else:
            ratio = instalment * 10000 // form.monthly_income_fen
            if ratio > product.max_dti_bp:
                no("instalment_too_high", instalment_share(instalment, ratio, product.max_dti_bp))
            elif ratio > product.review_dti_bp:
                review("instalment_high", instalment_share(instalment, ratio, product.review_dti_bp))
    if form.amount_fen > product.review_above_fen:
        review("large_amount", f"申请金额超过{money.yuan(product.review_above_fen)}，需人工审核")
    if form.employment_type in product.review_employment:
        review("employment_review", "您的职业类型需人工核实收入")
    if form.city.removesuffix("市") not in catalogue.service_cities:
        review("outside_service_area", "所在城市不在本行主要服务区域，需人工审核")

    outcomes = {r.outcome for r in reasons}
    verdict = NOT_ELIGIBLE if NOT_ELIGIBLE in outcomes else NEEDS_REVIEW if outcomes else ELIGIBLE
    return Prescreen(verdict, tuple(r for r in reasons if r.outcome == verdict), instalment, ratio)


def instalment_share(instalment_fen: int, ratio_bp: int, limit_bp: int) -> str:
    """The instalment against income above a limit, as a share only while it is one (at most
    the whole income); beyond that a percentage says nothing a customer can use."""
    if ratio_bp > 10000:
        return f"预计月还款{money.yuan(instalment_fen)}，超过月收入"
    return f"预计月还款{money.yuan(instalment_fen)}，约占月收入的{ratio_bp / 100:.0f}%，超过{limit_bp // 100}%"


# ---- status workflow ---------------------------------------------------------------------

SUBMITTED, UNDER_REVIEW, APPROVED, REJECTED, WITHDRAWN = (
    "SUBMITTED", "UNDER_REVIEW", "APPROVED", "REJECTED", "WITHDRAWN",
)
STATUSES = (SUBMITTED, UNDER_REVIEW, APPROVED, REJECTED, WITHDRAWN)
OPEN = frozenset({SUBMITTED, UNDER_REVIEW})
# Purged after the configured retention period (TTL); approved ones go on to the loan file.
PURGED = frozenset({REJECTED, WITHDRAWN})
STATUS_LABELS = {
    SUBMITTED: "已提交",
    UNDER_REVIEW: "审核中",
    APPROVED: "已通过",
    REJECTED: "未通过",
    WITHDRAWN: "已撤回",
}

APPLICANT = "applicant"
# Who may make each change: the applicant, or staff in the role the route verified.
TRANSITIONS: dict[tuple[str, str], str] = {
    (SUBMITTED, UNDER_REVIEW): staff.LOAN_REVIEWER,
    (UNDER_REVIEW, APPROVED): staff.LOAN_APPROVER,
    (UNDER_REVIEW, REJECTED): staff.LOAN_APPROVER,
    (SUBMITTED, WITHDRAWN): APPLICANT,
    (UNDER_REVIEW, WITHDRAWN): APPLICANT,
}
# A decision must say why; the applicant reads it.
REASON_REQUIRED = frozenset({REJECTED})


def allowed(current: str, target: str, role: str) -> bool:
    return TRANSITIONS.get((current, target)) == role


def staff_role(target: str) -> str:
    """The staff role a move to `target` needs: a decision is the approver's, the rest the
    reviewer's."""
    return staff.LOAN_APPROVER if target in (APPROVED, REJECTED) else staff.LOAN_REVIEWER


def can_withdraw(current: str) -> bool:
    return allowed(current, WITHDRAWN, APPLICANT)


def check_target(target: str) -> None:
    if target not in STATUSES:
        raise ValidationFailed([FieldError("to", "status_unknown", "目标状态无效")])


def check_reason(raw: str | None, target: str) -> str | None:
    """The reason given for a change: required for a decision the applicant reads."""
    text = (raw or "").strip()
    if len(text) > 200:
        raise ValidationFailed([FieldError("reason", "reason_too_long", "原因最多200字")])
    if not text and target in REASON_REQUIRED:
        raise ValidationFailed([FieldError("reason", "required", "请填写原因")])
    return text or None


def illegal_transition(current: str, target: str) -> str:
    return f"申请当前为“{STATUS_LABELS[current]}”，不能变更为“{STATUS_LABELS[target]}”"


# ---- four eyes ---------------------------------------------------------------------------
# Every entry of the history is a step: the applicant submits or withdraws; a reviewer takes
# the application into review and records a recommendation; approvers approve or reject.
# Whoever reviewed or recommended never decides; above a configured amount two different
# approvers must approve (the first approval leaves the status as it is), and one rejection
# decides.

SUBMIT, WITHDRAW, REVIEW, RECOMMEND, APPROVE, REJECT = "submit", "withdraw", "review", "recommend", "approve", "reject"
STEP_TO = {SUBMITTED: SUBMIT, WITHDRAWN: WITHDRAW, UNDER_REVIEW: REVIEW, APPROVED: APPROVE, REJECTED: REJECT}
RECOMMENDATIONS = {APPROVE: "建议通过", REJECT: "建议拒绝"}
STEP_LABELS = {SUBMIT: "提交申请", WITHDRAW: "撤回申请", REVIEW: "开始审核", RECOMMEND: "审核意见",
               APPROVE: "审批通过", REJECT: "审批拒绝"}


def step_label(step: str, recommendation: str | None) -> str:
    """What staff read for a step: a recommendation says which (审核意见：建议通过)."""
    label = STEP_LABELS[step]
    return f"{label}：{RECOMMENDATIONS[recommendation]}" if recommendation in RECOMMENDATIONS else label


@dataclass(frozen=True)
class Step:
    """One entry of an application's history as the four-eyes rules read it."""

    kind: str
    actor: str


def step_of(target: str) -> str:
    """The step a change to `target` is (the status an approval aims at is APPROVED, even
    when it is the first of two)."""
    return STEP_TO[target]


def entry_step(step: str | None, to_status: str) -> str:
    """The step of a history entry; entries written before steps were named are the step to
    their status."""
    return step or STEP_TO[to_status]


def approvals_needed(amount_fen: int, two_approvers_above_fen: int) -> int:
    return 2 if amount_fen > two_approvers_above_fen else 1


def decide(target: str, actor: str, amount_fen: int, steps: list[Step], two_approvers_above_fen: int) -> str:
    """The status an approver's approval or rejection leaves an application under review in:
    refused for whoever reviewed or recommended it, and for an approver who has approved it
    already (the second approval must be someone else's)."""
    if actor in {s.actor for s in steps if s.kind in (REVIEW, RECOMMEND)}:
        raise Forbidden("approver_is_reviewer", "您审核过该申请，不能再审批，请由其他审批人审批")
    approved_by = {s.actor for s in steps if s.kind == APPROVE}
    if actor in approved_by:
        raise Conflict("second_approver_required",
                       f"申请金额超过{money.yuan(two_approvers_above_fen)}，需由另一位审批人复核")
    if target == REJECTED:
        return REJECTED
    needed = approvals_needed(amount_fen, two_approvers_above_fen)
    return APPROVED if len(approved_by) + 1 >= needed else UNDER_REVIEW


def check_recommendation(raw: str | None, note: str | None) -> tuple[str, str]:
    """A reviewer's recommendation (approve or reject) and its note, both required; every
    bad field reported at once."""
    v = Validator()
    if not raw:
        v.add("recommendation", "required", "请选择审核意见")
    elif raw not in RECOMMENDATIONS:
        v.add("recommendation", "recommendation_unknown", "审核意见只能是建议通过或建议拒绝")
    text = (note or "").strip()
    if not text:
        v.add("note", "required", "请填写审核说明")
    elif len(text) > 200:
        v.add("note", "note_too_long", "审核说明最多200字")
    v.check()
    return str(raw), text


def check_read_reason(raw: str | None) -> str:
    """The reason a reviewer chose for a decrypted read, one of staff.READ_REASONS."""
    if not raw:
        raise ValidationFailed([FieldError("reason", "required", "请选择查看原因")])
    if raw not in staff.READ_REASONS:
        raise ValidationFailed([FieldError("reason", "reason_unknown", "查看原因无效，请从列表中选择")])
    return raw


def check_under_review(current: str) -> None:
    if current != UNDER_REVIEW:
        raise Conflict("not_under_review", f"申请当前为“{STATUS_LABELS[current]}”，不能提交审核意见")


# ---- the back office's queue -------------------------------------------------------------

@dataclass(frozen=True)
class QueueFilter:
    """One status, optionally one product, created in [start, end) (UTC instants of
    Asia/Shanghai midnights), a page of `limit` from `cursor`."""

    status: str
    product: str | None
    start: datetime
    end: datetime
    limit: int
    cursor: dict | None


def _day_bound(raw: str | None, field_name: str, v: Validator, default: date) -> date:
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        v.add(field_name, "date_invalid", "日期格式应为YYYY-MM-DD")
        return default


def queue_filter(query: dict, catalogue: Catalogue, today: date) -> QueueFilter:
    """The work queue's parameters: one status (default SUBMITTED), optionally one product,
    created between two Asia/Shanghai dates (inclusive); every bad one reported at once."""
    v = Validator()
    wanted = query.get("status") or SUBMITTED
    if wanted not in STATUSES:
        v.add("status", "status_unknown", "状态无效")
    product = query.get("product") or None
    if product and catalogue.product(product) is None:
        v.add("product", "product_unknown", "产品无效")
    first = _day_bound(query.get("from"), "from", v, date(2000, 1, 1))
    last = _day_bound(query.get("to"), "to", v, today)
    limit, cursor = paging.page(query, v)
    v.check()
    start = datetime.combine(first, time.min, clock.SHANGHAI)
    end = datetime.combine(last + timedelta(days=1), time.min, clock.SHANGHAI)
    return QueueFilter(wanted, product, start, end, limit, cursor)


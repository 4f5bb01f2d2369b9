"""Pre-screen: guidance shown the moment an application is submitted, never a credit
decision (staff decide). Thresholds come from the catalogue.

Monthly instalment, for loans: equal monthly instalments (等额本息) at the product's reference
rate, M = P·r·(1+r)^n / ((1+r)^n − 1) with r = annual rate / 12 and n = term in months,
rounded up to the fen. For credit cards: the minimum repayment on a fully used limit,
M = limit × minimum-payment rate. The instalment-to-income ratio is M / monthly income.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, localcontext

from functions.common.clock import yuan
from functions.loan_apply.catalogue import Catalogue, Product
from functions.loan_apply.validation import ApplicationInput

ELIGIBLE, NEEDS_REVIEW, NOT_ELIGIBLE = "eligible", "needs_review", "not_eligible"
VERDICT_LABELS = {ELIGIBLE: "初步符合条件", NEEDS_REVIEW: "需人工审核", NOT_ELIGIBLE: "暂不符合条件"}
DISCLAIMER = "预审结果仅供参考，不构成授信决定，最终以银行审批结果为准。"


@dataclass(frozen=True)
class Reason:
    code: str
    outcome: str  # NEEDS_REVIEW or NOT_ELIGIBLE
    message: str


@dataclass(frozen=True)
class Result:
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


def evaluate(catalogue: Catalogue, form: ApplicationInput, age: int, has_open_application: bool) -> Result:
    product = catalogue.products[form.product]
    reasons: list[Reason] = []

    def no(code: str, message: str) -> None:
        reasons.append(Reason(code, NOT_ELIGIBLE, message))

    def review(code: str, message: str) -> None:
        reasons.append(Reason(code, NEEDS_REVIEW, message))

    if not product.min_age <= age <= product.max_age:
        no("age", f"申请人年龄需在{product.min_age}至{product.max_age}周岁之间")
    if not product.min_amount_fen <= form.amount_fen <= product.max_amount_fen:
        no("amount_out_of_range",
           f"{product.name}金额需在{yuan(product.min_amount_fen)}至{yuan(product.max_amount_fen)}之间")
    term_ok = product.kind == "card" or form.term_months in product.terms_months
    if not term_ok:
        no("term_out_of_range", f"{product.name}期限可选{'、'.join(map(str, product.terms_months))}个月")
    if product.allowed_employment and form.employment_type not in product.allowed_employment:
        allowed = "、".join(catalogue.employment_types[e] for e in product.allowed_employment)
        no("employment_not_eligible", f"{product.name}仅面向{allowed}")
    if has_open_application:
        no("open_application", f"您已有一笔{product.name}申请正在处理中")

    instalment = monthly_instalment(product, form.amount_fen, form.term_months) if term_ok else None
    ratio = None
    if instalment is not None:
        if form.monthly_income_fen <= 0:
            no("no_income", "需有稳定的月收入")
        else:
            ratio = instalment * 10000 // form.monthly_income_fen
            share = f"预计月还款{yuan(instalment)}，约占月收入的{ratio / 100:.0f}%"
            if ratio > product.max_dti_bp:
                no("instalment_too_high", f"{share}，超过{product.max_dti_bp // 100}%")
            elif ratio > product.review_dti_bp:
                review("instalment_high", f"{share}，超过{product.review_dti_bp // 100}%")
    if form.amount_fen > product.review_above_fen:
        review("large_amount", f"申请金额超过{yuan(product.review_above_fen)}，需人工审核")
    if form.employment_type in product.review_employment:
        review("employment_review", "您的职业类型需人工核实收入")
    if form.city.removesuffix("市") not in catalogue.service_cities:
        review("outside_service_area", "所在城市不在本行主要服务区域，需人工审核")

    outcomes = {r.outcome for r in reasons}
    verdict = NOT_ELIGIBLE if NOT_ELIGIBLE in outcomes else NEEDS_REVIEW if outcomes else ELIGIBLE
    return Result(verdict, tuple(reasons), instalment, ratio)

"""Template messages and SMS texts: what each event says, and the one function (`render`)
every template message passes through, which enforces WeChat's rules since May 2023: only the
template's own keywords (no `first`, no `remark`), plain values (no colours), each value at
most 20 characters, no line breaks. Cards, money and times go through the one helper of each
(pii.mask_card, money.yuan, clock.show_template_time: WeChat's time keywords take no weekday).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from functions.common import clock, config, pii
from functions.common.money import yuan

MAX_VALUE = 20
_BREAKS = re.compile(r"[\s\u2028\u2029\u0085]+")


class TemplateRuleError(ValueError):
    """A template message that WeChat would refuse or show wrongly."""


@dataclass(frozen=True)
class Template:
    key: str
    title: str
    keywords: dict[str, str]  # keyword → its label, as the bank registered the template with WeChat
    build: Callable[[dict[str, Any]], dict[str, str]]

    @property
    def template_id(self) -> str:
        """The id WeChat gave the bank (setting NOTIFY_TEMPLATE_<KEY>), `local-<key>` locally."""
        return config.settings().notify_template_ids.get(self.key, f"local-{self.key}")


def render(template: Template, data: dict[str, Any]) -> dict[str, str]:
    """The keyword values of `template` for `data`, obeying the 2023 rules."""
    raw = template.build(data)
    if set(raw) != set(template.keywords):
        raise TemplateRuleError(f"{template.key}: keywords {sorted(raw)} != {sorted(template.keywords)}")
    out = {}
    for keyword in template.keywords:
        value = raw[keyword]
        if not isinstance(value, str):
            raise TemplateRuleError(f"{template.key}.{keyword}: value must be plain text")
        value = _BREAKS.sub(" ", value).strip() or "-"
        out[keyword] = value if len(value) <= MAX_VALUE else value[: MAX_VALUE - 1] + "…"
    return out


def _date(value: str) -> str:
    """A due date as stored (YYYY-MM-DD) is already a calendar date in Asia/Shanghai."""
    return clock.show_template_date(date.fromisoformat(value[:10]))


def _txn_kind(data: dict[str, Any]) -> str:
    if int(data["amount_fen"]) < 0:
        return "退款"
    if data.get("cross_border"):
        return "境外消费"
    return "消费" if data.get("card_present", True) else "网上消费"


LOAN_STATUS = {
    "SUBMITTED": "已提交", "UNDER_REVIEW": "审核中", "APPROVED": "已通过", "REJECTED": "未通过", "WITHDRAWN": "已撤回",
}

WEALTH_ORDER = {
    ("purchase", "PENDING"): "申购受理", ("purchase", "CONFIRMED"): "申购成功", ("purchase", "FAILED"): "申购失败",
    ("purchase", "CANCELLED"): "申购已撤单", ("redemption", "PENDING"): "赎回受理",
    ("redemption", "CONFIRMED"): "赎回成功", ("redemption", "FAILED"): "赎回失败",
    ("redemption", "CANCELLED"): "赎回已撤单",
}


BOOKING = {"thing1": "预约网点", "thing2": "预约业务", "time3": "预约时间"}
BOOKING_WITH_MANAGER = {**BOOKING, "thing4": "客户经理"}


def _booking(data: dict[str, Any], with_manager: bool) -> dict[str, str]:
    values = {"thing1": data["branch_name"], "thing2": data["service"],
              "time3": clock.show_template_time(clock.parse_utc(data["slot_start"]))}
    if with_manager:
        values["thing4"] = data.get("manager") or "待分配"
    return values


TEMPLATES: dict[str, Template] = {t.key: t for t in (
    Template("card_transaction", "交易提醒",
             {"character_string1": "卡号", "time2": "交易时间", "thing3": "交易商户", "amount4": "交易金额",
              "phrase5": "交易类型"},
             lambda d: {"character_string1": pii.mask_card(d["card_last4"]),
                        "time2": clock.show_template_time(clock.parse_utc(d["txn_time"])),
                        "thing3": str(d["merchant"]), "amount4": yuan(abs(int(d["amount_fen"]))),
                        "phrase5": _txn_kind(d)}),
    Template("statement_issued", "账单通知", {"character_string1": "卡号", "amount2": "本期应还", "amount3": "最低还款",
              "time4": "到期还款日"},
             lambda d: {"character_string1": pii.mask_card(d["card_last4"]), "amount2": yuan(d["amount_due_fen"]),
                        "amount3": yuan(d["minimum_due_fen"]), "time4": _date(d["due_date"])}),
    Template("bill_reminder", "还款提醒", {"character_string1": "卡号", "amount2": "待还金额", "time3": "到期还款日",
              "thing4": "温馨提示"},
             lambda d: {"character_string1": pii.mask_card(d["card_last4"]), "amount2": yuan(d["remaining_fen"]),
                        "time3": _date(d["due_date"]),
                        "thing4": "今日为到期还款日" if d["days_left"] == 0
                        else f"{d['days_left']}天后到期，请按时还款"}),
    Template("payment_received", "还款成功", {"character_string1": "卡号", "amount2": "还款金额", "time3": "还款时间"},
             lambda d: {"character_string1": pii.mask_card(d["card_last4"]), "amount2": yuan(d["amount_fen"]),
                        "time3": clock.show_template_time(clock.parse_utc(d["occurred_at"]))}),
    Template("booking_confirmed", "预约成功", BOOKING_WITH_MANAGER, lambda d: _booking(d, True)),
    Template("booking_rescheduled", "预约变更", BOOKING_WITH_MANAGER, lambda d: _booking(d, True)),
    Template("booking_cancelled", "预约取消", BOOKING, lambda d: _booking(d, False)),
    Template("booking_reminder", "预约提醒", BOOKING, lambda d: _booking(d, False)),
    Template("wealth_order_changed", "理财交易",
             {"character_string1": "订单编号", "thing2": "产品名称", "amount3": "交易金额", "phrase4": "交易状态",
              "thing5": "说明"},
             lambda d: {"character_string1": str(d["order_id"]), "thing2": str(d["product"]),
                        "amount3": yuan(int(d["amount_fen"])),
                        "phrase4": WEALTH_ORDER.get((str(d["kind"]), str(d["state"])), str(d["state"])),
                        "thing5": str(d.get("reason") or "-")}),
    Template("loan_status_changed", "申请进度",
             {"character_string1": "申请编号", "thing2": "申请业务", "phrase3": "办理进度", "thing4": "说明"},
             lambda d: {"character_string1": str(d["application_id"]), "thing2": str(d["product"]),
                        "phrase3": LOAN_STATUS.get(str(d["status"]), str(d["status"])),
                        "thing4": str(d.get("reason") or "-")}),
)}


def sms_text(template: Template, values: dict[str, str]) -> str:
    """The SMS form of a rendered template message: the same facts on one line."""
    facts = "，".join(values[k] for k in template.keywords)
    return f"{config.settings().notify_sms_sign}{template.title}：{facts}。"

"""WeChat's 2023 template rules, for every template: only its own keywords (no first or
remark), plain text values of at most 20 characters, no line breaks; cards as ····1234,
money as ¥1,234.56, times in Asia/Shanghai."""
from __future__ import annotations

import re

import pytest

from functions.notify import templates
from functions.notify.templates import TEMPLATES, Template, TemplateRuleError, render

LONG = "宁波市鄞州区四明中路999号某某某某某某超长商户名称有限公司\n第二行\r\n\u2028第三行"

# For each template: data with the longest, most hostile values it can meet.
HOSTILE = {
    "card_transaction": {"card_last4": "1234", "amount_fen": 99999999999, "merchant": LONG, "cross_border": True,
                         "card_present": False, "txn_time": "2026-03-01T16:05:00Z", "currency": "USD"},
    "statement_issued": {"card_last4": "1234", "amount_due_fen": 123456789012, "minimum_due_fen": 1234567890,
                         "due_date": "2026-03-25"},
    "bill_reminder": {"card_last4": "1234", "remaining_fen": 123456789012, "due_date": "2026-03-25", "days_left": 3},
    "payment_received": {"card_last4": "1234", "amount_fen": 123456789012, "occurred_at": "2026-03-01T16:05:00Z"},
    "booking_confirmed": {"branch_name": LONG, "service": LONG, "slot_start": "2026-03-01T16:05:00Z", "manager": LONG},
    "booking_rescheduled": {"branch_name": LONG, "service": LONG, "slot_start": "2026-03-01T16:05:00Z",
                            "manager": LONG},
    "booking_cancelled": {"branch_name": LONG, "service": LONG, "slot_start": "2026-03-01T16:05:00Z"},
    "booking_reminder": {"branch_name": LONG, "service": LONG, "slot_start": "2026-03-01T16:05:00Z"},
    "wealth_order_changed": {"order_id": "F" * 20, "kind": "redemption", "product": LONG, "amount_fen": 123456789012,
                             "state": "CANCELLED", "reason": LONG},
    "loan_status_changed": {"application_id": "A" * 40, "product": LONG, "status": "UNDER_REVIEW", "reason": LONG},
}


def test_every_template_is_covered():
    assert set(HOSTILE) == set(TEMPLATES)


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_rules_hold_for_every_template(key):
    template = TEMPLATES[key]
    values = render(template, HOSTILE[key])
    assert list(values) == list(template.keywords)
    assert not {"first", "remark"} & set(values)
    # each keyword shows under the label the bank registered: Chinese, short, told apart
    labels = list(template.keywords.values())
    assert all(re.fullmatch(r"[\u4e00-\u9fa5]{2,6}", label) for label in labels) and len(set(labels)) == len(labels)
    for keyword, value in values.items():
        assert isinstance(value, str) and 0 < len(value) <= 20, (keyword, value)
        assert not any(ch in value for ch in "\r\n\u2028\u2029"), (keyword, value)


def test_shapes_of_cards_money_and_time():
    values = render(TEMPLATES["card_transaction"], HOSTILE["card_transaction"])
    assert values["character_string1"] == "····1234"
    assert values["amount4"] == "¥999,999,999.99"
    assert values["time2"] == "2026年3月2日 00:05"  # 16:05 UTC is past midnight in Ningbo
    assert values["thing3"].endswith("…") and len(values["thing3"]) == 20
    assert values["phrase5"] == "境外消费"


def test_a_builder_adding_first_or_remark_is_refused():
    sneaky = Template("x", "测试", ("thing1",), lambda d: {"thing1": "a", "first": "您好"})
    with pytest.raises(TemplateRuleError):
        render(sneaky, {})


def test_non_text_values_are_refused():
    coloured = Template("x", "测试", ("thing1",), lambda d: {"thing1": {"value": "a", "color": "#FF0000"}})
    with pytest.raises(TemplateRuleError):
        render(coloured, {})


def test_template_ids_come_from_config(setting):
    assert TEMPLATES["card_transaction"].template_id == "local-card_transaction"
    setting("NOTIFY_TEMPLATE_CARD_TRANSACTION", "Tk3x-real-id")
    assert TEMPLATES["card_transaction"].template_id == "Tk3x-real-id"


def test_sms_text_is_one_line():
    text = templates.sms_text(TEMPLATES["card_transaction"], render(TEMPLATES["card_transaction"],
                                                                    HOSTILE["card_transaction"]))
    assert "\n" not in text and "····1234" in text

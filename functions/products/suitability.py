"""Who may buy what: the risk-tolerance questionnaire (风险承受能力评估), versioned, scored to
a level C1–C5 and valid for a set number of months; a product of risk R may be bought by a
customer of level C when R ≤ C, with no override; the mobile wealth-management agreement's
versions. Plain Python: the settings are passed in."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from functions.common.errors import Validator
from functions.products.service import MAX_DOCUMENT, VERSION

LEVELS = {"C1": "C1 保守型", "C2": "C2 稳健型", "C3": "C3 平衡型", "C4": "C4 成长型", "C5": "C5 进取型"}


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    options: tuple[tuple[str, int], ...]  # (answer, score)


@dataclass(frozen=True)
class Questionnaire:
    version: str
    questions: tuple[Question, ...]
    bands: tuple[tuple[int, str], ...]  # (highest score, level), ascending

    def level(self, score: int) -> str:
        return next(level for top, level in self.bands if score <= top)


def _q(n: int, text: str, *options: str) -> Question:
    return Question(f"q{n}", text, tuple((option, score) for score, option in enumerate(options, 1)))


QUESTIONNAIRE = Questionnaire(
    version="2026.1",
    questions=(
        _q(1, "您的年龄是？", "65岁以上", "56–65岁", "46–55岁", "18–30岁", "31–45岁"),
        _q(2, "您的家庭年收入约为？", "10万元以下", "10–30万元", "30–50万元", "50–100万元", "100万元以上"),
        _q(3, "您计划用于投资的资金占家庭金融资产的比例是？", "70%以上", "50%–70%", "30%–50%", "10%–30%", "10%以下"),
        _q(4, "您投资股票、基金、理财等产品的经验有多久？", "没有经验", "1年以内", "1–3年", "3–5年", "5年以上"),
        _q(5, "您对金融产品的了解程度是？", "几乎不了解", "略有了解", "一般了解", "比较了解", "非常了解"),
        _q(6, "您计划的投资期限是？", "3个月以内", "3–12个月", "1–3年", "3–5年", "5年以上"),
        _q(7, "您投资的主要目的是？", "保本保息", "资产保值，收益稳定", "稳健增长", "较高收益",
           "追求高收益，承担高风险"),
        _q(8, "您能承受的最大本金亏损是？", "不能承受亏损", "5%以内", "5%–15%", "15%–30%", "30%以上"),
        _q(9, "您的收入来源是否稳定？", "无固定收入", "不太稳定", "一般稳定", "比较稳定", "非常稳定"),
        _q(10, "投资出现10%的亏损时，您会？", "立即全部卖出", "卖出一部分", "继续持有观望", "适当加仓",
           "大幅加仓"),
    ),
    bands=((20, "C1"), (28, "C2"), (36, "C3"), (43, "C4"), (50, "C5")),
)


def score(questionnaire: Questionnaire, answers: Mapping[str, str]) -> tuple[int, str]:
    """(score, level) of a full set of answers (each the 1-based number of an option);
    ValidationFailed names every question unanswered or answered with no such option."""
    v = Validator()
    total = 0
    for question in questionnaire.questions:
        answer = (answers.get(question.id) or "").strip()
        if not answer:
            v.add(question.id, "required", "请回答此题")
        elif not answer.isdigit() or not 1 <= int(answer) <= len(question.options):
            v.add(question.id, "invalid_choice", "请选择一个选项")
        else:
            total += question.options[int(answer) - 1][1]
    v.check()
    return total, questionnaire.level(total)


def expires(assessed_at: datetime, months: int) -> datetime:
    """When an assessment made at `assessed_at` stops being valid: `months` calendar months
    on (the last day of a shorter month)."""
    month = assessed_at.month - 1 + months
    year, month = assessed_at.year + month // 12, month % 12 + 1
    for day in range(assessed_at.day, 27, -1):
        try:
            return assessed_at.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return assessed_at.replace(year=year, month=month, day=28)


def valid(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and now < expires_at


def agreement_problem(version: str, text: str) -> str | None:
    """Why an agreement version cannot be published, or None."""
    if not VERSION.fullmatch(version):
        return "版本号为1–20位字母、数字、点或连字符"
    if not 1 <= len(text) <= MAX_DOCUMENT:
        return f"协议正文须为1–{MAX_DOCUMENT}字"
    return None


def suitable(level: str, risk: str) -> bool:
    """A product of risk `risk` (R1–R5) suits a customer of level `level` (C1–C5): R ≤ C."""
    return int(risk[1]) <= int(level[1])


def readiness(level: str | None, level_valid: bool, agreement_accepted: bool, risk: str) -> str:
    """What stands between a customer and buying a product of `risk`, first thing first:
    `assess` (no level yet), `expired`, `above_level` (R > C: no override), `agreement`
    (the current version not accepted), or `ready`."""
    if level is None:
        return "assess"
    if not level_valid:
        return "expired"
    if not suitable(level, risk):
        return "above_level"
    return "ready" if agreement_accepted else "agreement"


def online_allowed(setting: str, assessed_before: bool) -> bool:
    """Whether the assessment may be done here: always a re-assessment; a first one only
    where the bank allows it online."""
    return assessed_before or setting == "online"


def expiring_soon(expires_at: datetime, now: datetime) -> bool:
    """Within 30 days of its end: the pages say so."""
    return expires_at - now <= timedelta(days=30)

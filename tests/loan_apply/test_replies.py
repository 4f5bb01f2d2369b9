"""What loan_apply answers the webhook: links to the form and the applicant's own list."""
from datetime import date

from functions.common import aws, intents
from functions.common.intents import Intent, Reply
from tests.loan_apply.conftest import form, resident_id


def ask(name: str, openid: str = "o_alice") -> Reply:
    intent = Intent(kind="ask", openid=openid, name=name)
    return Reply.from_dict(aws.invoke("loanApplyIntent", intent.to_dict(), 5))


def test_loan_and_card_applications_open_the_form(api):
    loan = ask(intents.LOAN_APPLY)
    assert loan.type == "news" and loan.article.url == "http://127.0.0.1:8000/loans/apply"
    card = ask(intents.CARD_APPLY)
    assert card.article.url.endswith("/loans/apply?product=credit_card") and "信用卡" in card.article.title
    for name in intents.NAMES - {intents.LOAN_APPLY, intents.CARD_APPLY, intents.LOAN_MINE}:
        assert ask(name).type == "none", name


def test_my_applications_lists_only_the_users_own(api):
    empty = ask(intents.LOAN_MINE)
    assert empty.type == "text" and "还没有" in empty.text and "/loans/apply" in empty.text
    api.submit("o_alice", form(amount="80000"))
    api.submit("o_bob", form(id_number=resident_id(date(1985, 6, 1)), amount="12345"), key="bob-key-01")
    mine = ask(intents.LOAN_MINE)
    assert mine.type == "text"
    assert "个人消费贷款 ¥80,000.00 已提交（3月15日 周日 10:00）" in mine.text
    assert "12,345" not in mine.text
    assert 'href="http://127.0.0.1:8000/loans/mine"' in mine.text
    assert "3302" not in mine.text and "138" not in mine.text

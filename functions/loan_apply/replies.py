"""What loan_apply answers in the WeChat chat: links to the application form and the
applicant's own applications."""
from __future__ import annotations

from functions.common import intents, urls
from functions.common.intents import Intent, Reply
from functions.loan_apply import actions


def _my_applications_text(openid: str) -> str:
    items = actions.mine(openid)[:5]
    link = f'<a href="{urls.absolute("/loans/mine")}">查看全部</a>'
    if not items:
        return f'您还没有贷款或信用卡申请。<a href="{urls.absolute("/loans/apply")}">立即申请</a>'
    lines = [f"{a['product_name']} {a['amount']} {a['status_label']}（{a['created_at_local']}）" for a in items]
    return "您的申请：\n" + "\n".join(lines) + "\n" + link


def answer(intent: Intent) -> Reply:
    """loan.mine, card.apply and loan.apply; any other intent is not loan_apply's."""
    if intent.name == intents.LOAN_MINE:
        return Reply.say(_my_applications_text(intent.openid))
    if intent.name == intents.CARD_APPLY:
        return Reply.news("信用卡在线申请", "额度五千至十万元，填写约3分钟，提交即看预审结果",
                          urls.absolute("/loans/apply", product="credit_card"))
    if intent.name == intents.LOAN_APPLY:
        return Reply.news("贷款在线申请", "个人消费、小微经营、住房贷款，提交即看预审结果",
                          urls.absolute("/loans/apply"))
    return Reply.nothing()


intent = intents.handler(answer)  # the feature's <feature>Intent function (serverless.yml)

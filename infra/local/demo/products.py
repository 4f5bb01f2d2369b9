"""Demo wealth products (fictional) with 60 days of net values, dated from the stack's
clock so they are on sale whenever `make run` starts. Written through the same checks as
the operator's import; a second load rewrites the same products and values."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

DOCUMENTS_VERSION = "2026.1"
HISTORY_DAYS = 60
# code, name, kind, risk, benchmark bp (low, high), term days, minimum fen, quota fen
PRODUCTS = (
    ("YC0001", "甬城天天利现金管理1号", "cash", "R1", (150, 210), 0, 100, 500_000_000_00),
    ("YC0091", "甬城稳享91天定开", "fixed", "R2", (230, 290), 91, 1_000_00, 100_000_000_00),
    ("YC0182", "甬城稳盈182天", "fixed", "R2", (250, 320), 182, 10_000_00, 200_000_000_00),
    ("YC0365", "甬城安鑫一年期", "fixed", "R3", (280, 380), 365, 10_000_00, 300_000_000_00),
    ("YC7001", "甬城睿选混合开放式", "open", "R4", (300, 600), 0, 1_000_00, 500_000_000_00),
)


def _document(kind: str, name: str) -> str:
    titles = {"prospectus": "产品说明书", "risk_disclosure": "风险揭示书", "sales_agreement": "销售协议"}
    return (f"《{name}》{titles[kind]}（演示文本，版本{DOCUMENTS_VERSION}）。理财非存款，产品有风险，投资须谨慎。"
            "业绩比较基准不代表产品未来表现和实际收益。")


def rows(today) -> list[dict[str, Any]]:
    """The demo products as import rows, on sale around `today`."""
    out = []
    for code, name, kind, risk, (low, high), term, minimum, quota in PRODUCTS:
        out.append({
            "code": code, "name": name, "issuer": "甬城理财有限责任公司", "kind": kind, "risk": risk,
            "benchmark_low_bp": low, "benchmark_high_bp": high, "term_days": term, "min_purchase_fen": minimum,
            "increment_fen": 100 if kind == "cash" else 1_000_00, "quota_fen": quota,
            "window_start": (today - timedelta(days=30)).isoformat(),
            "window_end": (today + timedelta(days=365)).isoformat(), "status": "on_sale",
            "documents_version": DOCUMENTS_VERSION,
            **{k: _document(k, name) for k in ("prospectus", "risk_disclosure", "sales_agreement")},
        })
    return out


def net_values(code: str, today) -> list[dict[str, str]]:
    """A steady walk from 1.0000, the same on every run."""
    nav, out = 10_000, []
    for back in range(HISTORY_DAYS, 0, -1):
        day = today - timedelta(days=back)
        step = int(hashlib.sha256(f"{code}#{day}".encode()).hexdigest()[:4], 16) % 21 - 8  # -8..+12
        nav = max(9_000, nav + step)
        out.append({"code": code, "date": day.isoformat(), "nav": f"{nav // 10_000}.{nav % 10_000:04d}"})
    return out


AGREEMENT = """甬城银行掌上理财服务协议（演示文本）

第一条 本协议由您（以下称“客户”）与甬城银行股份有限公司（以下称“本行”）就通过本行微信服务号办理理财产品\
购买、赎回、查询等业务（以下称“掌上理财”）订立。
第二条 客户在购买理财产品前，应完成风险承受能力评估；本行仅向客户销售风险等级不超过其风险承受能力等级的产品。
第三条 客户通过短信验证码确认的交易指令视为客户本人的真实意思表示。客户应妥善保管手机及验证码，不得转告他人。
第四条 理财非存款，产品有风险，投资须谨慎。业绩比较基准不代表产品未来表现和实际收益。
第五条 每日15:00之后提交的申请按下一交易日处理；在当日15:00前可撤销当日申请。
第六条 本行可修订本协议；协议更新后，客户须重新阅读并签署后方可继续办理掌上理财业务。"""


def load() -> int:
    """Import the products, publish their net values up to yesterday and the agreement;
    returns how many products were written."""
    from functions.common import clock
    from functions.products import actions, service, store

    today = clock.local().date()
    products, rejected = service.read_catalogue(rows(today))
    assert not rejected, rejected
    written = actions.import_catalogue(products)
    values = [service.read_net_value(v) for p in products if p.kind != "cash" for v in net_values(p.code, today)]
    actions.stage_net_values(values)
    actions.publish_net_values()
    store.publish_agreement(DOCUMENTS_VERSION, AGREEMENT)
    return written

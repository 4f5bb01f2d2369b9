"""Draw docs/architecture.png: the shape of the system (the same picture as the Mermaid
diagram in docs/architecture.md), with matplotlib so it needs nothing outside the venv.

    python -m scripts.draw_architecture [--out docs/architecture.png]
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "architecture.png"

# Colours by role
EXTERNAL, EDGE, FUNCTION, DATA, ASYNC = "#f2f2f2", "#fde9c9", "#d6eaf8", "#d5f5e3", "#f5d5e6"


@dataclass(frozen=True)
class Box:
    key: str
    label: str
    x: float  # centre
    y: float
    w: float = 2.2
    h: float = 0.8
    colour: str = FUNCTION


BOXES = [
    Box("wechat", "WeChat servers", 1.3, 9.0, colour=EXTERNAL),
    Box("browser", "Customer's WeChat\nbrowser (H5)", 1.3, 6.4, colour=EXTERNAL),
    Box("staff", "Branch & back-office\nstaff (OIDC token)", 1.3, 4.4, colour=EXTERNAL),
    Box("corebank", "Core banking", 1.3, 1.4, colour=EXTERNAL),
    Box("apigw", "API Gateway (REST)\nWAF · throttling", 4.4, 7.0, h=1.0, colour=EDGE),
    Box("scheduler", "EventBridge Scheduler\nAsia/Shanghai", 3.3, 3.0, colour=EDGE),
    Box("webhook", "webhook\nverify · decrypt · dedup · route", 7.9, 9.0, w=2.9),
    Box("branch", "branch_lookup\nApi · Intent · Query", 7.9, 7.4, w=2.9),
    Box("booking", "booking\nApi · Intent · Reminders", 7.9, 6.0, w=2.9),
    Box("loan", "loan_apply\nApi · Intent", 7.9, 4.6, w=2.9),
    Box("notify", "notify\nApi · Intent · Events · Bills · Pending", 7.9, 2.0, w=3.4),
    Box("queue", "SQS notify-events\n(+ dead-letter queue)", 4.4, 1.0, w=2.5, colour=ASYNC),
    Box("state", "wechat-state\n(token, lease, dedup)", 11.8, 9.0, w=2.5, colour=DATA),
    Box("t_branch", "branches\nuser-locations", 11.8, 7.4, w=2.5, colour=DATA),
    Box("t_booking", "bookings", 11.8, 6.0, w=2.5, colour=DATA),
    Box("t_loan", "applications", 11.8, 4.6, w=2.5, colour=DATA),
    Box("t_notify", "notify\ncore-banking", 11.8, 0.9, w=2.5, colour=DATA),
    Box("wxapi", "WeChat API (fixed egress IP)\ntemplates: notify\nOAuth2: webhook\nJS-SDK: branch_lookup",
        14.9, 3.4, w=2.8, h=1.5, colour=EXTERNAL),
    Box("sms", "SNS SMS", 14.9, 1.7, w=2.0, colour=EXTERNAL),
    Box("kms", "KMS (PII envelope key)\nSSM (secrets)", 14.9, 8.6, w=2.6, colour=DATA),
]

# (from, to, label, style[, curvature]); a curved arrow goes round the boxes in between
ARROWS = [
    ("wechat", "apigw", "POST /wechat", "-"),
    ("browser", "apigw", "pages + JSON", "-"),
    ("staff", "apigw", "/staff/", "-"),
    ("apigw", "webhook", "", "-"),
    ("apigw", "branch", "", "-"),
    ("apigw", "booking", "", "-"),
    ("apigw", "loan", "", "-"),
    ("apigw", "notify", "", "-"),
    ("webhook", "branch", "invoke intent", "--"),
    ("booking", "branch", "branch query", "--"),
    ("scheduler", "booking", "18:00", ":"),
    ("scheduler", "notify", "10:00 · 5 min", ":"),
    ("corebank", "queue", "transactions\nstatements", "-"),
    ("booking", "queue", "events", ":", 0.35),
    ("loan", "queue", "events", ":"),
    ("queue", "notify", "batch of 10", "-"),
    ("webhook", "state", "", "-"),
    ("branch", "t_branch", "", "-"),
    ("booking", "t_booking", "", "-"),
    ("loan", "t_loan", "", "-"),
    ("notify", "t_notify", "", "-"),
    ("notify", "wxapi", "template messages", "-"),
    ("notify", "sms", "fallback", "-"),
]


def _edge_point(box: Box, tx: float, ty: float) -> tuple[float, float]:
    """Where the line from the box's centre towards (tx, ty) leaves the box."""
    dx, dy = tx - box.x, ty - box.y
    if dx == 0 and dy == 0:
        return box.x, box.y
    scale = min((box.w / 2) / abs(dx) if dx else float("inf"), (box.h / 2) / abs(dy) if dy else float("inf"))
    return box.x + dx * scale, box.y + dy * scale


def draw(out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots(figsize=(16.5, 10.5), dpi=110)
    ax.set_xlim(0, 16.4)
    ax.set_ylim(0.1, 10.2)
    ax.axis("off")
    boxes = {b.key: b for b in BOXES}
    for key_from, key_to, label, style, *bend in ARROWS:
        a, b = boxes[key_from], boxes[key_to]
        start, end = _edge_point(a, b.x, b.y), _edge_point(b, a.x, a.y)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, linewidth=1.2,
                                     linestyle={"-": "solid", "--": "dashed", ":": "dotted"}[style],
                                     connectionstyle=f"arc3,rad={bend[0] if bend else 0}",
                                     color="#34495e", shrinkA=2, shrinkB=2, zorder=1))
        if label and not bend:
            mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
            ax.text(mx, my, label, fontsize=8, ha="center", va="center", color="#2c3e50", zorder=3,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9})
    for box in BOXES:
        ax.add_patch(FancyBboxPatch((box.x - box.w / 2, box.y - box.h / 2), box.w, box.h,
                                    boxstyle="round,pad=0.04,rounding_size=0.12", fc=box.colour, ec="#2c3e50",
                                    linewidth=1.1, zorder=2))
        ax.text(box.x, box.y, box.label, ha="center", va="center", fontsize=9, zorder=3)
    ax.text(0.2, 9.95, "wechat-bank: independent Lambda functions, each feature with its own tables",
            fontsize=11, weight="bold", va="top")
    legend = [("external", EXTERNAL), ("edge", EDGE), ("functions", FUNCTION), ("data & keys", DATA),
              ("queue", ASYNC)]
    for i, (name, colour) in enumerate(legend):
        ax.add_patch(FancyBboxPatch((10.4 + i * 1.2, 9.75), 0.3, 0.22, boxstyle="round,pad=0.02", fc=colour,
                                    ec="#2c3e50", linewidth=0.8))
        ax.text(10.8 + i * 1.2, 9.86, name, fontsize=8, va="center")
    ax.text(10.4, 9.55, "solid: calls · dashed: synchronous invoke · dotted: schedules and events", fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    print(draw(parser.parse_args(argv).out))


if __name__ == "__main__":
    main()

"""Every customer page on a phone: at 320, 375 and 414 px wide, no page scrolls sideways
(`scrollWidth > innerWidth`), no element is cut by a box that hides its overflow, no label,
date, amount or mask breaks over lines, and no two controls (links, buttons, fields)
overlap. The 375-px views are saved to build/screenshots/; `make screenshots` saves them to
docs/screenshots/ (shown in docs/screenshots.md), so a test run leaves the tree as it was."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser.customer_pages import customer_pages, wechat_context

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / os.environ.get("SCREENSHOTS_DIR", "build/screenshots")
WIDTHS = (320, 375, 414)
HEIGHT = 740
SHOWN_AT = 375
# What is wrong with a page on a phone, measured in the page: sideways scrolling; text or a
# control cut by a box that hides overflow (the ellipsis of a one-line cell is meant); a label
# or a date, an amount or a mask broken over lines; two controls over each other (one inside
# the other, like a field in its label, is one control).
MEASURE = r"""() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) {
    const wide = [...document.querySelectorAll("body *")]
      .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5);
    problems.push(`scrolls sideways: ${root.scrollWidth} > ${window.innerWidth} (` +
      wide.slice(-3).map(e => e.tagName.toLowerCase() + "." + [...e.classList].join(".")).join(", ") + ")");
  }
  const shown = e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden"; };
  for (const e of document.querySelectorAll("body *")) {
    const s = getComputedStyle(e);
    const hides = ["hidden", "clip"].includes(s.overflowX);
    if (shown(e) && hides && s.textOverflow !== "ellipsis" && e.scrollWidth > e.clientWidth + 1) {
      const name = e.tagName.toLowerCase() + "." + [...e.classList].join(".");
      problems.push(`cut: ${name} "${e.textContent.trim().slice(0, 30)}"`);
    }
  }
  // a label (a few characters), or what a display helper made (a date and time, opening
  // hours, money, a masked name, phone or card), broken over two lines
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const shaped = /\d+月\d+日( 周.)?( \d\d:\d\d)?|\d\d:\d\d-\d\d:\d\d|-?¥[\d,]+\.\d\d|\S\*\*|\d{3}\*{4}\d{4}|····\d{4}/g;
  const lines = (node, start, end) => {
    const range = document.createRange();
    range.setStart(node, start);
    range.setEnd(node, end);
    return new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top))).size;
  };
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent;
    if (!text.trim() || !shown(node.parentElement)) continue;
    const pieces = text.trim().length <= 6 ? [[text.trim(), text.indexOf(text.trim())]]
      : [...text.matchAll(shaped)].map(m => [m[0], m.index]);
    for (const [piece, at] of pieces) {
      if (lines(node, at, at + piece.length) > 1) problems.push(`wraps: "${piece}"`);
    }
  }
  const controls = [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea")]
    .filter(shown).filter(e => !e.closest("[hidden]"));
  for (let i = 0; i < controls.length; i++) {
    for (let j = i + 1; j < controls.length; j++) {
      const a = controls[i], b = controls[j];
      if (a.contains(b) || b.contains(a) || a.closest("label") === b.closest("label") && a.closest("label")) continue;
      const p = a.getBoundingClientRect(), q = b.getBoundingClientRect();
      const x = Math.min(p.right, q.right) - Math.max(p.left, q.left);
      const y = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
      if (x > 1 && y > 1) {
        problems.push(`overlap: "${a.textContent.trim().slice(0, 20)}" and "${b.textContent.trim().slice(0, 20)}"`);
      }
    }
  }
  return problems;
}"""


def shot_name(path: str) -> str:
    """A page's screenshot file: its route with ids and query values left out, stable from
    run to run (`/booking/b/<id>?confirm=cancel` → booking-b-item-confirm.png)."""
    route, _, query = path.partition("?")
    parts = ["item" if re.search(r"\d", p) else p for p in route.strip("/").split("/") if p]
    parts += [pair.partition("=")[0] for pair in query.split("&") if pair][-1:]  # the step the query names
    return "-".join(parts) + ".png"


def test_every_page_fits_a_phone_at_three_widths(browser, stack, signed_in):
    signed, params, booked = signed_in
    pages = customer_pages(params, booked)
    problems, saved = [], set()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = wechat_context(browser, stack, signed, {"width": WIDTHS[0], "height": HEIGHT})
    page = context.new_page()
    for path in pages:
        page.goto(stack.url + path)
        page.wait_for_load_state("load")
        for width in WIDTHS:
            at_width(page, width)
            problems += [f"{width}px {path}: {p}" for p in page.evaluate(MEASURE)]
            if width == SHOWN_AT and pages[path] == 200:
                name = shot_name(path)
                assert name not in saved, f"two pages would share {name}"
                saved.add(name)
                page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
    context.close()
    assert not problems, "\n".join(problems)


def at_width(page, width: int) -> None:
    """The phone turned to `width`: the viewport resized, and two frames later (the resize
    event handled, the layout redone) the page as a load at that width would show it. The
    pages' only width rules are CSS, so one load serves the three widths."""
    page.set_viewport_size({"width": width, "height": HEIGHT})
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def test_the_measure_sees_overflow_cuts_and_overlaps(browser):
    """The control: a page with each fault is reported, the same page without them is not."""
    context = browser.new_context(viewport={"width": 320, "height": 600})
    page = context.new_page()
    page.set_content('<body style="margin:0"><p>fine</p><a href="#">one</a> <button>two</button></body>')
    assert page.evaluate(MEASURE) == []
    page.set_content('<body style="margin:0"><table><tr><td>' + "账单金额¥1,234.00 " * 3 + "</td>" * 4 + "</tr></table>"
                     '<div style="width:400px">wide</div></body>')
    assert any(p.startswith("scrolls sideways") for p in page.evaluate(MEASURE))
    page.set_content('<body style="margin:0"><div style="width:100px;overflow:hidden;white-space:nowrap">'
                     + "很长的一行文字" * 5 + "</div></body>")
    assert any(p.startswith("cut:") for p in page.evaluate(MEASURE))
    page.set_content('<body style="margin:0"><div style="display:flex"><span>到期还款日</span>'
                     '<span style="flex:0 0 290px">11月19日 周四</span></div></body>')
    assert page.evaluate(MEASURE) == ['wraps: "到期还款日"']
    page.set_content('<body style="margin:0"><a href="#" style="position:absolute;left:0;top:0;width:80px">地图</a>'
                     '<button style="position:absolute;left:40px;top:0;width:80px">导航</button></body>')
    assert any(p.startswith("overlap:") for p in page.evaluate(MEASURE))
    # one load measured at each width: what fits at 414 px and not at 320 px is seen at 320
    page.set_content('<body style="margin:0"><div style="width:380px">wide at 320</div></body>')
    at_width(page, 414)
    assert page.evaluate(MEASURE) == []
    at_width(page, 320)
    assert any(p.startswith("scrolls sideways: 380 > 320") for p in page.evaluate(MEASURE))
    context.close()

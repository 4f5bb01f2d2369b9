"""Browser journeys: the local stack as `make run` serves it, driven through the simulator
page by Playwright with the distribution's Chromium (never a downloaded browser).

The stack runs on a set clock, whatever the machine's says: every test starts at
`clock_at` (a weekday morning unless a test names another time, through
`@pytest.mark.parametrize("clock_at", [...], indirect=True)`), and the browser's clock
agrees with it, since the simulator page shows times it computes in JavaScript.

Without Chromium every browser test is skipped with the reason, and the run ends with a
warning saying so (`.ci/run` installs Chromium when it is missing)."""
from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import pytest

from tests.browser.customer_pages import signed_in  # noqa: F401 - the demo customer's session, for every page test
from tests.named_times import WEEKDAY_MORNING

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1100, "height": 860}  # the phone and the panels side by side
MISSING = ("Chromium not found (looked for $CHROMIUM_PATH, /usr/bin/chromium, chromium on PATH): "
           "browser journeys NOT run; install Debian's chromium package (.ci/run does)")
NO_CJK_FONT = ("no font with Chinese glyphs: the browser screenshots show boxes for Chinese; install Debian's "
               "fonts-noto-cjk (.ci/run does)")


def chromium_path() -> str | None:
    """$CHROMIUM_PATH when set (and only it), else Debian's chromium."""
    if os.environ.get("CHROMIUM_PATH"):
        candidates = [os.environ["CHROMIUM_PATH"]]
    else:
        candidates = ["/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def has_cjk_font() -> bool:
    """Whether fontconfig knows a font with Chinese glyphs (else screenshots show boxes)."""
    import subprocess

    fc_list = shutil.which("fc-list")
    return bool(fc_list) and bool(subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True,
                                                 timeout=30).stdout.strip())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A journey that failed reports the stack's queues that still hold messages (and their
    dead-letter queues): a message that never reached its function shows there."""
    report = yield
    stack = item.funcargs.get("stack") if hasattr(item, "funcargs") else None
    if report.failed and call.when == "call" and stack is not None and stack.ready:
        held = [q for q in stack.queue_depths() if q["visible"] or q["in_flight"] or q["delayed"]]
        report.sections.append(("Queues holding messages", json.dumps(held, indent=1) if held else "none"))
    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if chromium_path() is None:
        terminalreporter.write_sep("!", "WARNING: " + MISSING, red=True, bold=True)
    elif not has_cjk_font():
        terminalreporter.write_sep("!", "WARNING: " + NO_CJK_FONT, red=True, bold=True)


@pytest.fixture(scope="package")
def browser():
    executable = chromium_path()
    if executable is None:
        warnings.warn(MISSING, stacklevel=1)
        pytest.skip(MISSING)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def stack():
    """One local stack for the browser tests, with its demo data, as `make run` starts it;
    queue delivery and schedules are driven by the tests (`drain_queues()`,
    `fire_schedule()`) so deliveries are deterministic. Every test plays its own new user,
    so tests share no data."""
    from infra.local.stack import LocalStack

    stack = LocalStack(port=0, queues=False, schedules=False, retry_delay_s=0,
                       env={"CLOCK_AT": WEEKDAY_MORNING}).start()
    yield stack
    stack.stop()


@pytest.fixture
def clock_at(stack, request) -> str:
    """The time the test names (as CLOCK_AT takes it), the stack's clock moved there."""
    from functions.common import clock

    named = getattr(request, "param", WEEKDAY_MORNING)
    stack.set_clock(clock.parse_setting(named))
    return named


@pytest.fixture
def page(browser, stack, clock_at, request):
    """A fresh browser profile (no cookies) on the simulator page, its clock at the stack's,
    asking for reduced motion as a person may (the chat then jumps to a new reply instead of
    gliding for most of a second, and Playwright waits for a bubble to stand still before it
    clicks); the end state is saved as test-artifacts/browser/<test>.png whatever the outcome."""
    from functions.common import clock

    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  reduced_motion="reduce")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.clock.install(time=clock.now())
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{stack.url}/_local/simulator/")
    page.wait_for_selector("body[data-ready=true]")
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def sim(page, stack):
    """The simulator's phone in the browser, on this package's stack."""
    from tests.browser.sim_page import Simulator

    return Simulator(page, stack)

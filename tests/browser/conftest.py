"""Browser journeys: the local stack as `make run` serves it, driven through the simulator
page by Playwright with the distribution's Chromium (never a downloaded browser).

Without Chromium every browser test is skipped with the reason, and the run ends with a
warning saying so (`.ci/run` installs Chromium when it is missing)."""
from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest

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


def chromium_path() -> str | None:
    """$CHROMIUM_PATH when set (and only it), else Debian's chromium."""
    if os.environ.get("CHROMIUM_PATH"):
        candidates = [os.environ["CHROMIUM_PATH"]]
    else:
        candidates = ["/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if chromium_path() is None:
        terminalreporter.write_sep("!", "WARNING: " + MISSING, red=True, bold=True)


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


# The journeys run at any hour: notify's quiet hours (21:00-08:00, which hold back all but
# card alerts) shrink to one microsecond so a booking confirmation is sent when delivered.
ANY_HOUR = {"NOTIFY_QUIET_START": "23:59:59.999999", "NOTIFY_QUIET_END": "00:00"}


@pytest.fixture(scope="package")
def stack():
    """One local stack for the browser tests, with its demo data, as `make run` starts it;
    queue delivery is driven by the tests (`drain_queues()`) so deliveries are deterministic.
    Every test plays its own new user, so tests share no data."""
    from infra.local.stack import LocalStack

    stack = LocalStack(port=0, queues=False, schedules=False, retry_delay_s=0, env=ANY_HOUR).start()
    yield stack
    stack.stop()


@pytest.fixture
def page(browser, stack, request):
    """A fresh browser profile (no cookies) on the simulator page; the end state is saved as
    test-artifacts/browser/<test>.png whatever the outcome."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{stack.url}/_local/simulator/")
    page.wait_for_selector("body[data-ready=true]")
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"

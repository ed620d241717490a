"""The browser demo (infra/web) in a real browser: Debian's chromium driven by Playwright, against the local API.

The local API runs as a subprocess on a free port with a 3-second access token, no clock leeway and the API's
default 10-second grace window for concurrent refreshes, so a test can watch a token expire. Chromium is the one
`make chromium` installs (`/usr/bin/chromium`); Playwright's own browser downloads are never used. Without it the
suite is skipped with the reason, except in CI (CI set), where it fails.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.localweb import ACCESS_TOKEN_TTL_SECONDS, ADMIN_EMAIL, ADMIN_PASSWORD
from tests.local_server import running_local_api

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

_artifacts: list[Path] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for path in _artifacts:
        terminalreporter.write_line(f"browser screenshots: {path}")


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests save their screenshots; the path is printed at the end of the run."""
    path = tmp_path_factory.mktemp("artifacts")
    _artifacts.append(path)
    return path


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The local API (and the demo page at /) on a free port, for this module's tests."""
    settings = {
        "ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TOKEN_TTL_SECONDS),
        "CLOCK_LEEWAY_SECONDS": "0",
        "REFRESH_REUSE_GRACE_SECONDS": "10",
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    with running_local_api(settings) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium (make test does it)"
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests can't run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser: Browser, base_url: str) -> Iterator[Callable[..., BrowserContext]]:
    """Fresh browser profiles (each its own cookies and storage: another device), made on demand with Playwright's
    context options (a `user_agent`, say); no script error or CSP violation allowed in any of them."""
    contexts: list[BrowserContext] = []
    problems: list[str] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(base_url=base_url, viewport={"width": 1000, "height": 760}, **options)
        context.set_default_timeout(10_000)
        context.on("weberror", lambda error: problems.append(f"uncaught: {error.error}"))
        context.on(
            "console",
            lambda message: problems.append(message.text) if "Content Security Policy" in message.text else None,
        )
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert problems == []


@pytest.fixture
def context(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    """A fresh browser profile per test."""
    return new_context()

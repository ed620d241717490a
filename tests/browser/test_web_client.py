"""The browser demo (infra/web) in chromium: the token flow as a person using the page sees it.

Each test gets a fresh browser context (its own cookie jar and storage) against one local API whose access tokens
live 3 seconds, so "the token expired" is a short wait. The network is watched from the test (Playwright's response
events); the page itself never exposes a token.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from tests.browser.localweb import ACCESS_TOKEN_TTL_SECONDS, ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import BrowserContext, Page, Response

pytestmark = pytest.mark.slow

SIGNED_OUT = "You are signed out."


@dataclass
class Seen:
    method: str
    path: str
    status: int
    body: Any  # the JSON answer, read at once (a navigation drops the browser's copy)
    response: Response

    @property
    def error(self) -> str | None:
        return self.body.get("error") if self.status >= 400 else None


@dataclass
class Network:
    """The API calls a page made, in the order their answers arrived."""

    seen: list[Seen] = field(default_factory=list)

    def record(self, response: Response) -> None:
        parts = urlsplit(response.url)
        if parts.path in ("/", "/favicon.ico") or parts.path.startswith("/app/"):
            return  # the page and its assets
        raw = response.body() if response.status != 204 else b""
        body = json.loads(raw) if raw else None
        self.seen.append(Seen(response.request.method, parts.path, response.status, body, response))

    def calls(self, since: int = 0) -> list[tuple[str, str, int, str | None]]:
        return [(s.method, s.path, s.status, s.error) for s in self.seen[since:]]

    def mark(self) -> int:
        return len(self.seen)


def watch(page: Page) -> Network:
    network = Network()
    page.on("response", network.record)
    return network


def new_email() -> str:
    return f"browser-{uuid.uuid4().hex[:12]}@example.com"


def call(base_url: str, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    """A plain HTTP call to the API from the test, outside the browser: (status, JSON body or None)."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    sent = {"Accept": "application/json"} | (headers or {})
    data = None
    if body is not None:
        data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
    try:
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    return response.status, (json.loads(raw) if raw else None)


def register(base_url: str, email: str) -> None:
    status, body = call(base_url, "POST", "/auth/register", body={"email": email, "password": PASSWORD})
    assert status == 201, body


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/")
    page.locator("#login-view").wait_for()
    page.fill("#login-email", email)
    page.fill("#login-password", password)
    page.click("#login-submit")
    on_dashboard(page, email)


def on_dashboard(page: Page, email: str) -> None:
    page.locator("#dashboard-view").wait_for()
    assert page.text_content("#welcome") == f"Welcome {email}, to your secure dashboard."
    assert page.is_hidden("#login-view")


def wait_until_expired(*pages: Page) -> None:
    """Until the page's countdown (decoded from the token's exp) says expired, plus a margin for the server's clock."""
    for page in pages:
        page.locator("#token-countdown.expired").wait_for(timeout=(ACCESS_TOKEN_TTL_SECONDS + 2) * 1000)
    time.sleep(0.3)


def wait_for_call(page: Page, network: Network, since: int, method: str, path: str, status: int) -> None:
    deadline = time.monotonic() + 10
    while (method, path, status) not in [seen[:3] for seen in network.calls(since)]:
        assert time.monotonic() < deadline, f"no {method} {path} {status} in {network.calls(since)}"
        page.wait_for_timeout(50)


def refresh_cookie(context: BrowserContext) -> dict[str, Any]:
    [cookie] = [cookie for cookie in context.cookies() if cookie["name"] == "refresh_token"]
    return dict(cookie)


def watch_for_login_screen(page: Page) -> None:
    """Remember in the page whether the login screen shows at any moment from now on."""
    page.evaluate(
        """() => {
            const view = document.getElementById("login-view");
            window.sawLogin = !view.hidden;
            new MutationObserver(() => { window.sawLogin ||= !view.hidden; }).observe(view, { attributes: true });
        }"""
    )


# ---------------------------------------------------------------------------------------------------------------


def test_login_reaches_the_dashboard(context: BrowserContext, base_url: str, artifacts: Path) -> None:
    email = new_email()
    register(base_url, email)
    page = context.new_page()
    network = watch(page)
    page.goto("/")
    page.locator("#login-view").wait_for()
    assert network.calls() == [("POST", "/auth/refresh", 401, "missing_token")]  # no cookie yet: not signed in
    assert page.is_hidden("#message")
    page.screenshot(path=artifacts / "login.png")

    page.fill("#login-email", email)
    page.fill("#login-password", PASSWORD)
    since = network.mark()
    page.click("#login-submit")
    on_dashboard(page, email)
    assert network.calls(since) == [("POST", "/auth/login", 200, None), ("GET", "/me", 200, None)]
    assert page.text_content("#profile-role") == "user"
    assert page.is_hidden("#admin-panel")  # not an admin
    assert re.fullmatch(r"expires in [123] s", page.text_content("#token-countdown") or "")
    page.screenshot(path=artifacts / "dashboard.png")


def test_register_and_the_error_messages(context: BrowserContext, base_url: str) -> None:
    page = context.new_page()
    page.goto("/")
    email = new_email()
    page.fill("#register-email", email)
    page.fill("#register-password", "short")
    page.click("#register-submit")
    message = page.locator("#message.error")
    message.wait_for()
    assert "Please check what you entered." in message.text_content()
    assert "password:" in message.text_content()  # the validation details, field by field

    page.fill("#register-password", PASSWORD)
    page.click("#register-submit")
    on_dashboard(page, email)
    assert page.text_content("#message") == "Your account is ready."

    page.click("#logout")
    page.locator("#login-view").wait_for()
    page.fill("#register-email", email)
    page.fill("#register-password", PASSWORD)
    page.click("#register-submit")
    message.wait_for()
    assert message.text_content() == "An account with this email already exists. Sign in instead."

    page.fill("#login-email", email)
    page.fill("#login-password", PASSWORD + "x")
    page.click("#login-submit")
    page.locator("#message.error", has_text="Wrong email or password.").wait_for()
    assert page.is_hidden("#dashboard-view")


def test_a_reload_keeps_the_session_through_the_cookie(context: BrowserContext, base_url: str) -> None:
    email = new_email()
    register(base_url, email)
    page = context.new_page()
    sign_in(page, email)
    network = watch(page)
    page.reload()
    on_dashboard(page, email)
    assert network.calls() == [("POST", "/auth/refresh", 200, None), ("GET", "/me", 200, None)]


def test_an_expired_access_token_is_refreshed_during_a_dashboard_call(context: BrowserContext, base_url: str) -> None:
    email = new_email()
    register(base_url, email)
    page = context.new_page()
    network = watch(page)
    sign_in(page, email)
    first_load = page.text_content("#loaded-at")
    wait_until_expired(page)
    watch_for_login_screen(page)

    since = network.mark()
    page.click("#refresh-dashboard")
    wait_for_call(page, network, since, "GET", "/me", 200)
    assert network.calls(since) == [
        ("GET", "/me", 401, "token_expired"),
        ("POST", "/auth/refresh", 200, None),
        ("GET", "/me", 200, None),
    ]
    on_dashboard(page, email)
    assert page.evaluate("window.sawLogin") is False
    assert page.is_hidden("#message")
    assert re.fullmatch(r"expires in [123] s", page.text_content("#token-countdown") or "")
    assert page.text_content("#loaded-at") != first_load


def test_two_tabs_refreshing_at_once_both_stay_signed_in(context: BrowserContext, base_url: str) -> None:
    email = new_email()
    register(base_url, email)
    first, second = context.new_page(), context.new_page()
    sign_in(first, email)
    second.goto("/")  # the second tab restores the session from the shared cookie
    on_dashboard(second, email)
    networks = {first: watch(first), second: watch(second)}
    wait_until_expired(first, second)
    for page in (first, second):
        watch_for_login_screen(page)

    # Both dashboard calls start together: each evaluate returns as soon as its click is dispatched.
    first.evaluate("document.getElementById('refresh-dashboard').click()")
    second.evaluate("document.getElementById('refresh-dashboard').click()")
    for page, network in networks.items():
        wait_for_call(page, network, 0, "GET", "/me", 200)
        assert network.calls() == [
            ("GET", "/me", 401, "token_expired"),
            ("POST", "/auth/refresh", 200, None),
            ("GET", "/me", 200, None),
        ]
        on_dashboard(page, email)
        assert page.evaluate("window.sawLogin") is False

    # The tabs took turns (navigator.locks): the later refresh sent the cookie the earlier one had just set, so the
    # rotated-out token was never presented again (no reuse, not even within the grace window).
    refreshes = sorted(
        (s.response for network in networks.values() for s in network.seen if s.path == "/auth/refresh"),
        key=lambda response: response.request.timing["startTime"],
    )
    earlier, later = refreshes
    set_cookie = earlier.header_value("set-cookie") or ""
    assert set_cookie.startswith("refresh_token=")
    rotated_in = set_cookie.split(";")[0]
    sent_later = later.request.header_value("cookie") or ""
    assert rotated_in in sent_later.split("; "), "the second tab's refresh did not wait for the first one's cookie"

    # A further dashboard call works in both, also once their tokens expire again (the session family is alive).
    wait_until_expired(first, second)
    for page, network in networks.items():
        since = network.mark()
        page.click("#refresh-dashboard")
        wait_for_call(page, network, since, "GET", "/me", 200)
        assert ("POST", "/auth/refresh", 200, None) in network.calls(since)
        on_dashboard(page, email)
        assert page.evaluate("window.sawLogin") is False


def test_logout_returns_to_login_and_the_old_session_is_dead(context: BrowserContext, base_url: str) -> None:
    email = new_email()
    register(base_url, email)
    page = context.new_page()
    network = watch(page)
    sign_in(page, email)
    [login] = [s for s in network.seen if s.path == "/auth/login"]
    access_token = login.body["access_token"]
    old_cookie = refresh_cookie(context)["value"]

    page.click("#logout")
    page.locator("#login-view").wait_for()
    assert page.text_content("#message") == SIGNED_OUT
    assert network.calls()[-1] == ("POST", "/auth/logout", 204, None)
    assert [c for c in context.cookies() if c["name"] == "refresh_token"] == []  # the API cleared the cookie

    status, body = call(base_url, "POST", "/auth/refresh", headers={"Cookie": f"refresh_token={old_cookie}"})
    assert (status, body["error"]) == (401, "token_revoked")
    status, body = call(base_url, "GET", "/me", headers={"Authorization": f"Bearer {access_token}"})
    assert (status, body["error"]) == (401, "token_revoked")  # the access token was denylisted too

    page.reload()  # nothing left to restore the session from
    page.locator("#login-view").wait_for()
    assert page.is_hidden("#dashboard-view")


def test_logout_everywhere_ends_the_other_tabs_session(context: BrowserContext, base_url: str) -> None:
    email = new_email()
    register(base_url, email)
    first, second = context.new_page(), context.new_page()
    sign_in(first, email)
    second.goto("/")
    on_dashboard(second, email)

    first.click("#logout-all")
    first.locator("#login-view").wait_for()
    assert first.text_content("#message") == "You are signed out of every session, on every device."

    # Its access token was issued before the logout-all: refused as revoked (or, had it expired meanwhile, the
    # refresh finds the cookie gone). Either way the tab is back on the login screen and says why.
    second.click("#refresh-dashboard")
    second.locator("#login-view").wait_for()
    assert (second.text_content("#message") or "").endswith("Please sign in again.")


def test_the_tokens_are_never_in_document_cookie_or_storage(context: BrowserContext, base_url: str) -> None:
    email = new_email()
    register(base_url, email)
    page = context.new_page()
    network = watch(page)
    sign_in(page, email)
    page.reload()  # a second pair, from the refresh
    on_dashboard(page, email)
    tokens = [s.body["access_token"] for s in network.seen if s.status == 200 and s.path.startswith("/auth/")]
    assert len(tokens) == 2

    cookie = refresh_cookie(context)
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/auth")
    stored = page.evaluate(
        """async () => ({
            cookie: document.cookie,
            local: Object.entries(localStorage),
            session: Object.entries(sessionStorage),
            databases: (await indexedDB.databases()).map((db) => db.name),
            caches: await caches.keys(),
        })"""
    )
    assert stored == {"cookie": "", "local": [], "session": [], "databases": [], "caches": []}
    assert not any(token in json.dumps(stored) for token in [*tokens, cookie["value"]])


def test_an_admin_sees_the_users_list(context: BrowserContext, base_url: str, artifacts: Path) -> None:
    for _ in range(2):
        register(base_url, new_email())
    page = context.new_page()
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert page.text_content("#profile-role") == "admin"
    page.click("#load-users")  # the first 10 users
    page.wait_for_selector("#load-users:not([disabled])", state="attached")  # the call has ended
    page.screenshot(path=artifacts / "admin-users.png", full_page=True)
    while page.is_visible("#more-users"):  # then the rest, page by page
        page.click("#more-users")
        page.wait_for_selector("#more-users:not([disabled])", state="attached")
    emails = page.locator("#users-body tr td:first-child").all_text_contents()
    assert ADMIN_EMAIL in emails
    assert len(emails) == len(set(emails)) >= 3
    assert page.is_hidden("#message")

    # Two calls of one tab hit an expired token at once: they share a single refresh, then both go through.
    network = watch(page)
    wait_until_expired(page)
    page.evaluate("['refresh-dashboard', 'load-users'].forEach((id) => document.getElementById(id).click())")
    wait_for_call(page, network, 0, "GET", "/me", 200)
    wait_for_call(page, network, 0, "GET", "/admin/users", 200)
    calls = network.calls()
    assert calls.count(("POST", "/auth/refresh", 200, None)) == 1, calls
    assert sorted(calls) == [
        ("GET", "/admin/users", 200, None),
        ("GET", "/admin/users", 401, "token_expired"),
        ("GET", "/me", 200, None),
        ("GET", "/me", 401, "token_expired"),
        ("POST", "/auth/refresh", 200, None),
    ]

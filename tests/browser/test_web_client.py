"""The browser demo (infra/web) in chromium: the token flow as a person using the page sees it.

Each test gets a fresh browser context (its own cookie jar and storage) against one local API whose access tokens
live 3 seconds, so "the token expired" is a short wait. The network is watched from the test (Playwright's response
events); the page itself never exposes a token.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest

from tests.browser.localweb import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    PASSWORD,
    SIGNED_OUT,
    call,
    new_email,
    on_dashboard,
    refresh_cookie,
    register,
    sign_in,
    wait_for_call,
    wait_until_expired,
    watch,
    watch_for_login_screen,
)

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import BrowserContext

pytestmark = pytest.mark.slow

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

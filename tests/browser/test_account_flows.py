"""The account lifecycle in the browser demo, as a person sees it: a forgotten password through the emailed link (read
from the local outbox, as a person would click it there), the verification link, a password change and the sessions
list.

"Another device" is another browser profile (`new_context`): tabs of one profile share the refresh cookie, so they
are one session, which a password change keeps and which ends for all of them at once. Each profile gets its own user
agent, which the sessions list shows.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from tests.browser.localweb import (
    PASSWORD,
    emailed_link,
    mails,
    message,
    new_email,
    on_dashboard,
    register,
    sign_in,
    wait_for_call,
    watch,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.slow

NEW_PASSWORD = "a brand new passphrase 2025"
SESSION_ENDED = "Your session has ended (signed out here or elsewhere). Please sign in again."


def signed_in_elsewhere(new_context: Callable[..., BrowserContext], email: str, device: str) -> Page:
    page = new_context(user_agent=device).new_page()
    sign_in(page, email)
    return page


def test_forgot_password_mail_link_reset_then_sign_in(context: BrowserContext, base_url: str, artifacts: Path) -> None:
    email = new_email()
    register(base_url, email)
    page = context.new_page()
    page.goto("/")
    page.locator("#login-view").wait_for()
    page.fill("#login-email", email)

    page.click("#forgot-link")
    page.locator("#forgot-view").wait_for()
    assert page.input_value("#forgot-email") == email  # carried over from the sign-in form
    page.click("#forgot-submit")
    message(page, "info", f"If an account exists for {email}, we have emailed it a link")

    link = emailed_link(base_url, email, "/reset-password")
    page.goto(link)
    page.locator("#reset-view").wait_for()
    assert page.url == f"{base_url}/reset-password"  # the token left the address bar (and the history) at once
    page.screenshot(path=artifacts / "reset-password.png")

    page.fill("#reset-password", "short")
    page.click("#reset-submit")
    message(page, "error", "Please check what you entered.")
    assert "password:" in (page.text_content("#message") or "")  # the policy's reasons
    assert page.is_visible("#reset-view")  # a refused password leaves the link usable: try again
    page.fill("#reset-password", NEW_PASSWORD)
    page.click("#reset-submit")
    page.locator("#login-view").wait_for()
    message(page, "info", "Your password has been reset and every session has ended.")
    assert page.url == f"{base_url}/"

    page.fill("#login-email", email)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    message(page, "error", "Wrong email or password.")
    page.fill("#login-password", NEW_PASSWORD)
    page.click("#login-submit")
    on_dashboard(page, email)
    assert page.text_content("#profile-verified") == "yes"  # the reset proved the mailbox too

    # The link works once: opened again, it is refused and the page offers a new one.
    reuse = context.new_page()
    reuse.goto(link)
    reuse.fill("#reset-password", "yet another passphrase 77")
    reuse.click("#reset-submit")
    message(reuse, "error", "This link can't be used")
    assert reuse.is_visible("#forgot-view")


def test_the_verification_link_verifies_and_a_spent_one_offers_a_new_mail(
    context: BrowserContext, base_url: str
) -> None:
    email = new_email()
    page = context.new_page()
    page.goto("/")
    page.fill("#register-email", email)
    page.fill("#register-password", PASSWORD)
    page.click("#register-submit")
    on_dashboard(page, email)  # locally an unverified account may sign in (REQUIRE_VERIFIED_EMAIL is off)
    assert page.text_content("#profile-verified") == "no"

    link = emailed_link(base_url, email, "/verify-email")
    network = watch(page)
    page.goto(link)
    on_dashboard(page, email)  # verified, then the cookie restores the session
    message(page, "info", "Your email address is verified.")
    assert page.text_content("#profile-verified") == "yes"
    assert page.url == f"{base_url}/"
    assert network.calls()[:1] == [("POST", "/auth/verify-email", 204, None)]

    page.goto(link)
    page.locator("#verify-view").wait_for()
    message(page, "error", "This link can't be used")
    assert page.url == f"{base_url}/verify-email"
    sent = len(mails(base_url, email))
    page.fill("#resend-email", email)
    page.click("#resend-submit")
    message(page, "info", f"If {email} has an account waiting for verification, we have emailed it a new link.")
    time.sleep(0.5)
    assert len(mails(base_url, email)) == sent  # already verified: nothing is sent, and the page can't tell
    page.click("#resend-back")
    on_dashboard(page, email)


def test_change_password_signs_out_the_other_device_and_this_one_continues(
    new_context: Callable[..., BrowserContext], base_url: str
) -> None:
    email = new_email()
    register(base_url, email)
    here = signed_in_elsewhere(new_context, email, "Device A")
    there = signed_in_elsewhere(new_context, email, "Device B")
    network = watch(there)

    here.fill("#current-password", "not the password at all")
    here.fill("#new-password", NEW_PASSWORD)
    here.click("#password-submit")
    message(here, "error", "Your current password is not right.")
    assert here.is_visible("#dashboard-view")  # a wrong current password is an answer, not the end of the session

    here.fill("#current-password", PASSWORD)
    here.fill("#new-password", NEW_PASSWORD)
    here.click("#password-submit")
    message(here, "info", "Your password has been changed.")
    network_here = watch(here)
    here.click("#refresh-dashboard")
    wait_for_call(here, network_here, 0, "GET", "/me", 200)  # this session continues, its token included
    on_dashboard(here, email)

    there.click("#refresh-dashboard")
    there.locator("#login-view").wait_for()
    assert there.text_content("#message") == SESSION_ENDED
    assert ("GET", "/me", 401, "token_revoked") in network.calls()
    since = network.mark()
    there.reload()  # and its cookie can't bring the session back
    there.locator("#login-view").wait_for()
    assert network.calls(since)[0] == ("POST", "/auth/refresh", 401, "token_revoked")
    sign_in(there, email, NEW_PASSWORD)


def test_ending_a_session_from_another_device_signs_that_device_out(
    new_context: Callable[..., BrowserContext], base_url: str, artifacts: Path
) -> None:
    email = new_email()
    register(base_url, email)
    here = signed_in_elsewhere(new_context, email, "Device A")
    there = signed_in_elsewhere(new_context, email, "Device B")
    network = watch(there)

    here.click("#load-sessions")
    rows = here.locator("#sessions-body tr")
    rows.nth(1).wait_for()
    assert rows.count() == 2
    this_device = here.locator("#sessions-body tr", has=here.locator(".badge"))
    assert this_device.locator(".ua").text_content() == "Device A"
    assert this_device.locator(".badge").text_content() == "this device"
    other = here.locator("#sessions-body tr", has_text="Device B")
    assert other.locator(".badge").count() == 0
    assert "127.0.0.1" in (other.text_content() or "")
    here.screenshot(path=artifacts / "sessions.png", full_page=True)

    other.get_by_role("button", name="Sign out this device").click()
    message(here, "info", "That device is signed out.")
    assert rows.count() == 1
    assert here.locator("#sessions-body .ua").all_text_contents() == ["Device A"]

    there.click("#refresh-dashboard")
    there.locator("#login-view").wait_for()
    assert there.text_content("#message") == SESSION_ENDED
    wait_for_call(there, network, 0, "GET", "/me", 401)
    assert network.calls()[-1] == ("GET", "/me", 401, "token_revoked")

    # This device's own row signs this device out.
    this_device.get_by_role("button", name="Sign out this device").click()
    here.locator("#login-view").wait_for()
    assert here.text_content("#message") == "You are signed out on this device."
    here.reload()
    here.locator("#login-view").wait_for()

"""The browser demo against a local API that requires a verified email (REQUIRE_VERIFIED_EMAIL=true, AWS's default):
an unverified account's sign-in leads to the resend form, and the new link lets it in."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.browser.localweb import PASSWORD, emailed_link, mails, message, new_email, on_dashboard, register
from tests.local_server import running_local_api

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import BrowserContext

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_local_api({"REQUIRE_VERIFIED_EMAIL": "true"}) as url:
        yield url


def test_an_unverified_account_is_offered_a_new_link_which_lets_it_sign_in(
    context: BrowserContext, base_url: str
) -> None:
    email = new_email()
    register(base_url, email)
    page = context.new_page()
    page.goto("/")
    page.fill("#login-email", email)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    message(page, "error", "Your email address is not verified yet")
    assert page.is_visible("#verify-view")
    assert page.input_value("#resend-email") == email

    sent = len(mails(base_url, email))
    page.click("#resend-submit")
    message(page, "info", f"If {email} has an account waiting for verification, we have emailed it a new link.")
    assert len(mails(base_url, email)) == sent + 1

    page.goto(emailed_link(base_url, email, "/verify-email"))
    page.locator("#login-view").wait_for()  # verified; no session yet
    message(page, "info", "Your email address is verified.")
    page.fill("#login-email", email)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    on_dashboard(page, email)
    assert page.text_content("#profile-verified") == "yes"

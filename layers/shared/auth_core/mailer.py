"""Mail through Amazon SES v2 `SendEmail`: the verification and password-reset messages, plain text plus a minimal
HTML part. The only module that talks to SES. A link is never logged (it is a credential until spent)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from auth_core.errors import DependencyError

if TYPE_CHECKING:
    from collections.abc import Callable

# Paths of the demo page that open each link, relative to APP_BASE_URL (README, "Emailed links").
VERIFY_PATH = "/verify-email"
RESET_PATH = "/reset-password"

_TEXT = """Hello,

{intro}

{link}

{validity} If you did not ask for this, ignore this mail: nothing changes.
"""
_HTML = """<!doctype html>
<html><body>
<p>Hello,</p>
<p>{intro}</p>
<p><a href="{link}">{link}</a></p>
<p>{validity} If you did not ask for this, ignore this mail: nothing changes.</p>
</body></html>
"""


class Mailer:
    def __init__(self, client: Callable[[], Any], *, sender: str, base_url: str) -> None:
        self._client = client  # botocore's sesv2 client, built on the first mail (no type stubs locked for it)
        self._sender = sender
        self._base_url = base_url.rstrip("/")

    def send_verification(self, *, to: str, token: str) -> None:
        self._send(
            to,
            subject="Verify your email address",
            intro="Confirm that this is your email address by opening this link:",
            link=self._link(VERIFY_PATH, token),
            validity="The link works once, for 24 hours.",
        )

    def send_reset(self, *, to: str, token: str) -> None:
        self._send(
            to,
            subject="Reset your password",
            intro="Someone (we hope you) asked to reset the password of your account. Choose a new one here:",
            link=self._link(RESET_PATH, token),
            validity="The link works once, for 30 minutes, and signs you out everywhere.",
        )

    def _link(self, path: str, token: str) -> str:
        return f"{self._base_url}{path}?token={quote(token, safe='')}"

    def _send(self, to: str, *, subject: str, intro: str, link: str, validity: str) -> None:
        """DependencyError when SES refuses or can't be reached (the caller decides what the client hears)."""
        text = _TEXT.format(intro=intro, link=link, validity=validity)
        page = _HTML.format(intro=html.escape(intro), link=html.escape(link), validity=html.escape(validity))
        try:
            self._client().send_email(
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": subject, "Charset": "UTF-8"},
                        "Body": {
                            "Text": {"Data": text, "Charset": "UTF-8"},
                            "Html": {"Data": page, "Charset": "UTF-8"},
                        },
                    }
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise DependencyError() from exc

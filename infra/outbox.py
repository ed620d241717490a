"""The local outbox: every mail the service sends through the embedded backend's SES, for a person or a script.

The embedded backend (infra/backend.py) serves moto behind `Outbox.recording`, a WSGI middleware that keeps each SES
v2 SendEmail request moto accepted: its recipients, subject and text part (moto itself keeps only the HTML part, and
no time). `make run` prints each mail on its console as it is sent, its links included: the one place a token may be
printed, which is what a local outbox is for. The local server serves them at GET /_local/outbox, a route that only the
local server has (it is not in template.yaml, so no deployed API has it): an HTML page for a person, and
`{"messages": [{"to", "subject", "text", "sent_at"}]}`, oldest first, to a client that asks for application/json.
It answers only requests addressed to a loopback name: a page on another site that points its own name at 127.0.0.1
(DNS rebinding) must not read everyone's links.
"""

from __future__ import annotations

import html
import io
import json
import re
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from infra.gateway import Answer

    type WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

OUTBOX_PATH = "/_local/outbox"
SEND_EMAIL_PATH = "/v2/email/outbound-emails"  # SES v2 SendEmail
LINK = re.compile(r"https?://[^\s<>\"']+")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]"}
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    sent_at: str

    @property
    def links(self) -> list[str]:
        return LINK.findall(self.text)


class Outbox:
    """The mails sent so far, oldest first; `listener` hears of each one as it is sent."""

    def __init__(self, listener: Callable[[Mail], None] | None = None) -> None:
        self._listener = listener
        self._mails: list[Mail] = []
        self._lock = threading.Lock()

    def messages(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)

    def record(self, request_body: bytes) -> None:
        """Keep one SES v2 SendEmail request (its JSON body) that SES accepted."""
        request = json.loads(request_body)
        simple = request.get("Content", {}).get("Simple", {})
        body = simple.get("Body", {})
        mail = Mail(
            to=", ".join(request.get("Destination", {}).get("ToAddresses", [])),
            subject=simple.get("Subject", {}).get("Data", ""),
            text=(body.get("Text") or body.get("Html") or {}).get("Data", ""),
            sent_at=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        )
        with self._lock:
            self._mails.append(mail)
        if self._listener is not None:
            self._listener(mail)

    def recording(self, app: WsgiApp) -> WsgiApp:
        """`app` (moto's server) with every SendEmail it answers 200 recorded here."""

        def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != SEND_EMAIL_PATH:
                return app(environ, start_response)
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            statuses: list[str] = []

            def capture(status: str, *args: Any) -> Any:
                statuses.append(status)
                return start_response(status, *args)

            answer = app(environ, capture)
            if statuses and statuses[0].startswith("200"):
                self.record(body)
            return answer

        return middleware

    def page(self, request: Any) -> Answer:
        """GET /_local/outbox: JSON for a client that prefers it, the HTML page otherwise; 421 Misdirected Request
        (RFC 9110 s15.5.20) unless the Host header names the loopback (the DNS rebinding defence)."""
        headers = {name.lower(): value for name, value in request.headers}
        host = headers.get("host", "").lower()
        if (host.rsplit(":", 1)[0] if not host.endswith("]") else host) not in LOOPBACK_HOSTS:
            return 421, [("Content-Type", "text/plain; charset=utf-8")], b"The local outbox answers only on loopback."
        accept = headers.get("accept", "")
        mails = self.messages()
        if wants_json(accept):
            body = json.dumps({"messages": [asdict(mail) for mail in mails]}).encode()
            return 200, [("Content-Type", "application/json"), ("Vary", "Accept")], body
        page_headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Security-Policy", PAGE_CSP)]
        return 200, [*page_headers, ("Vary", "Accept")], render_page(mails)


def wants_json(accept: str) -> bool:
    """True when the Accept header ranks application/json above text/html (RFC 9110 s12.5.1 quality values); a tie
    with text/html named, and a bare wildcard, get the page."""
    quality: dict[str, float] = {}
    for item in accept.lower().split(","):
        media, *parameters = (part.strip() for part in item.split(";"))
        q = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[media] = max(quality.get(media, 0.0), q)
    as_json = quality.get("application/json", 0.0)
    wildcard = max(quality.get("*/*", 0.0), quality.get("text/*", 0.0))
    return as_json > 0 and as_json > quality.get("text/html", 0.0) and as_json >= wildcard


def linked(text: str) -> str:
    """The text as HTML: everything escaped, each http(s) link made clickable."""
    parts: list[str] = []
    end = 0
    for match in LINK.finditer(text):
        url = html.escape(match.group())
        parts += [html.escape(text[end : match.start()]), f'<a href="{url}" rel="noreferrer">{url}</a>']
        end = match.end()
    return "".join([*parts, html.escape(text[end:])])


def render_page(mails: list[Mail]) -> bytes:
    cards = "".join(
        f'<article class="card"><h2>{html.escape(mail.subject)}</h2>'
        f'<p class="muted small">To {html.escape(mail.to)}, sent {html.escape(mail.sent_at)}</p>'
        f'<pre class="mail-text">{linked(mail.text)}</pre></article>'
        for mail in reversed(mails)
    )
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Local outbox - serverless-jwt-auth</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/app/style.css">
</head>
<body>
  <header>
    <h1>Local outbox</h1>
    <p class="muted">Every mail the local API has sent, newest first (reload for new ones). Only <code>make run</code>
      has this page; <a href="/">back to the demo</a>.</p>
  </header>
  <main>{cards or '<p class="card muted">No mail yet.</p>'}</main>
</body>
</html>
""".encode()


def announce(mail: Mail) -> None:
    """The console lines of a sent mail (make run's console only: never a log file), with no control character that
    could drive the terminal."""
    lines = [f"Mail to {mail.to}: {mail.subject}", *(f"  {link}" for link in mail.links)]
    print("\n".join("".join(char if char.isprintable() else "?" for char in line) for line in lines), flush=True)


def outbox_pages(outbox: Outbox) -> dict[tuple[str, str], Callable[[Any], Answer]]:
    """(method, path) -> page, for the local server's extra routes."""
    return {("GET", OUTBOX_PATH): outbox.page}

"""What the browser tests and their local API share: its settings, the accounts the tests use, and the helpers that
drive a page and watch its network (Playwright's response events; the page itself never exposes a token)."""

from __future__ import annotations

import http.client
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Response

ACCESS_TOKEN_TTL_SECONDS = 3
ADMIN_EMAIL = "browser-admin@example.com"
ADMIN_PASSWORD = "Adm1n-correct-horse-battery"
PASSWORD = "correct horse battery staple 42"

SIGNED_OUT = "You are signed out."
PAGES = ("/", "/favicon.ico", "/reset-password", "/verify-email", "/_local/outbox")


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
        if parts.path in PAGES or parts.path.startswith("/app/"):
            return  # the page (at each path it is served) and its assets
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


def mails(base_url: str, to: str) -> list[dict[str, str]]:
    status, body = call(base_url, "GET", "/_local/outbox")  # call() asks for application/json
    assert status == 200, body
    return [message for message in body["messages"] if message["to"] == to]


def emailed_link(base_url: str, to: str, path: str) -> str:
    """The newest link to `path` mailed to `to`, as the local outbox shows it (the API mails before it answers)."""
    links = [link for mail in mails(base_url, to) for link in re.findall(r"https?://\S+", mail["text"])]
    links = [link for link in links if link.startswith(f"{base_url}{path}?token=")]
    assert links, f"no {path} link mailed to {to}: {mails(base_url, to)}"
    return links[-1]


def message(page: Page, kind: str, text: str) -> None:
    page.locator(f"#message.{kind}", has_text=text).wait_for()

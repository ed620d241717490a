"""The local outbox of `make run` over HTTP: mails sent through the embedded backend's SES (moto) show at
GET /_local/outbox, as JSON for a script and as a page for a person; the emailed links open the local demo page."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from infra.outbox import OUTBOX_PATH
from tests.contract import SECURITY_HEADERS
from tests.e2e.localapi import Client
from tests.local_server import free_port, running_local_api

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SENDER = "outbox-test@localhost.test"  # the embedded backend verifies the SENDER_EMAIL it is given


@pytest.fixture(scope="module")
def local() -> Iterator[tuple[str, str]]:
    """A local API of its own, with its embedded backend on a known port: (API base URL, backend endpoint)."""
    moto_port = free_port()
    with running_local_api({"MOTO_PORT": str(moto_port), "SENDER_EMAIL": SENDER}) as url:
        yield url, f"http://127.0.0.1:{moto_port}"


@pytest.fixture(scope="module")
def ses(local: tuple[str, str]) -> Any:
    return boto3.client(
        "sesv2",
        endpoint_url=local[1],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def send(ses: Any, to: str, subject: str, text: str, sender: str = SENDER) -> None:
    body: Any = {"Text": {"Data": text}, "Html": {"Data": f"<p>{text}</p>"}}
    ses.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": [to]},
        Content={"Simple": {"Subject": {"Data": subject}, "Body": body}},
    )


def outbox(client: Client, to: str | None = None) -> list[dict[str, str]]:
    reply = client.request("GET", OUTBOX_PATH)  # the Client asks for application/json
    assert reply.status == 200
    assert reply.header("Content-Type") == "application/json"
    messages: list[dict[str, str]] = reply.body["messages"]
    return [message for message in messages if to is None or message["to"] == to]


def test_mails_sent_through_the_embedded_ses_are_listed_oldest_first(local: tuple[str, str], ses: Any) -> None:
    client = Client(local[0])
    send(ses, "first@example.com", "First", "the first text part")
    send(ses, "second@example.com", "Second", "the second text part")

    first, second = outbox(client)[-2:]

    assert {key: first[key] for key in ("to", "subject", "text")} == {
        "to": "first@example.com",
        "subject": "First",
        "text": "the first text part",
    }
    assert (second["to"], second["subject"]) == ("second@example.com", "Second")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["sent_at"])
    assert first["sent_at"] <= second["sent_at"]


def test_a_mail_ses_refuses_is_not_in_the_outbox(local: tuple[str, str], ses: Any) -> None:
    with pytest.raises(ses.exceptions.MessageRejected):
        send(ses, "refused@example.com", "Refused", "text", sender="someone@unverified.test")

    assert outbox(Client(local[0]), "refused@example.com") == []


def get_page(base_url: str, path: str) -> tuple[int, dict[str, str], str]:
    """What a browser gets (its Accept header; the Client asks for JSON and expects the API's own CSP)."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        connection.request("GET", path, headers={"Accept": BROWSER_ACCEPT})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


def test_the_page_for_a_person_escapes_the_mail_and_keeps_the_security_headers(
    local: tuple[str, str], ses: Any
) -> None:
    send(ses, "page@example.com", "<script>alert(1)</script>", "Open http://127.0.0.1/x?token=a&b=c <img src=x>")

    status, headers, page = get_page(local[0], OUTBOX_PATH)

    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Vary"] == "Accept"
    for name, value in SECURITY_HEADERS.items():
        if name != "Content-Security-Policy":
            assert headers[name] == value
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<a href="http://127.0.0.1/x?token=a&amp;b=c" rel="noreferrer">' in page


def test_registering_sends_a_verification_link_to_the_local_demo_page(local: tuple[str, str]) -> None:
    client = Client(local[0])
    email = "outbox-register@example.com"
    client.register(email)

    [mail] = outbox(client, email)
    [link] = re.findall(r"https?://\S+", mail["text"])
    parts = urlsplit(link)

    assert f"{parts.scheme}://{parts.netloc}" == local[0]  # APP_BASE_URL is the local API, where the page is
    assert parts.path == "/verify-email"
    [token] = parse_qs(parts.query)["token"]
    status, _, page = get_page(local[0], f"/verify-email?{parts.query}")
    assert status == 200
    assert '<script type="module" src="/app/app.js"></script>' in page  # the demo page handles the link
    assert client.request("POST", "/auth/verify-email", body={"token": token}).status == 204

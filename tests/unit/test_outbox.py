"""The local outbox (infra/outbox.py): what it keeps of a sent mail, how it shows it, and where it is not."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.cfn import load_template
from infra.gateway import LocalGateway
from infra.local import LocalRequest, LocalServer, local_pages
from infra.openapi import DOCUMENT_PATH
from infra.outbox import OUTBOX_PATH, Outbox, announce, wants_json

ROOT = Path(__file__).resolve().parents[2]
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
HOSTILE_SUBJECT = '<script>alert("subject")</script>'
HOSTILE_TEXT = 'Hi <img src=x onerror=alert(1)>, open https://app.test/reset-password?token=a&b="><script>x</script>'


def send_email_request(to: str, subject: str, text: str | None, html: str = "<p>the HTML part</p>") -> bytes:
    """The JSON body of an SES v2 SendEmail request, as boto3 sends it."""
    body: dict[str, Any] = {"Html": {"Data": html, "Charset": "UTF-8"}}
    if text is not None:
        body["Text"] = {"Data": text, "Charset": "UTF-8"}
    content = {"Simple": {"Subject": {"Data": subject}, "Body": body}}
    request = {"FromEmailAddress": "no-reply@localhost.test", "Destination": {"ToAddresses": [to]}, "Content": content}
    return json.dumps(request).encode()


def get(outbox: Outbox, accept: str | None, host: str = "127.0.0.1:3000") -> tuple[int, dict[str, str], bytes]:
    headers = [("Host", host)] + ([("Accept", accept)] if accept is not None else [])
    status, answer_headers, body = outbox.page(LocalRequest("GET", OUTBOX_PATH, "", headers, b"", "127.0.0.1"))
    return status, dict(answer_headers), body


def test_record_keeps_the_text_part_and_the_recipient_oldest_first() -> None:
    outbox = Outbox()
    outbox.record(
        send_email_request("first@example.com", "Verify your email", "Open https://app.test/verify-email?token=1")
    )
    outbox.record(send_email_request("second@example.com", "Reset your password", "the text part"))

    first, second = outbox.messages()
    assert (first.to, first.subject, first.text) == (
        "first@example.com",
        "Verify your email",
        "Open https://app.test/verify-email?token=1",
    )
    assert first.links == ["https://app.test/verify-email?token=1"]
    assert (second.to, second.text) == ("second@example.com", "the text part")
    assert first.sent_at <= second.sent_at and second.sent_at.endswith("Z")


def test_a_mail_without_a_text_part_shows_its_html_part() -> None:
    outbox = Outbox()
    outbox.record(send_email_request("a@example.com", "Subject", None, html="<p>only HTML</p>"))

    assert [mail.text for mail in outbox.messages()] == ["<p>only HTML</p>"]


def test_json_answer_has_the_contract_shape_oldest_first() -> None:
    outbox = Outbox()
    for number in range(3):
        outbox.record(send_email_request(f"user{number}@example.com", f"Mail {number}", f"text {number}"))

    status, headers, body = get(outbox, "application/json")

    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert headers["Vary"] == "Accept"
    messages = json.loads(body)["messages"]
    assert [set(message) for message in messages] == [{"to", "subject", "text", "sent_at"}] * 3
    assert [(m["to"], m["subject"], m["text"]) for m in messages] == [
        (f"user{n}@example.com", f"Mail {n}", f"text {n}") for n in range(3)
    ]


def test_json_answer_of_an_empty_outbox_is_an_empty_list() -> None:
    assert json.loads(get(Outbox(), "application/json")[2]) == {"messages": []}


def test_html_page_escapes_everything_and_links_only_http_urls() -> None:
    outbox = Outbox()
    outbox.record(send_email_request('"><b>to</b>@example.com', HOSTILE_SUBJECT, HOSTILE_TEXT + " javascript:alert(2)"))

    status, headers, raw = get(outbox, BROWSER_ACCEPT)
    page = raw.decode()

    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    csp = headers["Content-Security-Policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;subject&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # The link stops where the URL does: the quote and the tag after it are text, escaped.
    assert '<a href="https://app.test/reset-password?token=a&amp;b=" rel="noreferrer">' in page
    assert "&quot;&gt;&lt;script&gt;x&lt;/script&gt;" in page
    assert page.count("<a href=") == 2  # the mail's one http(s) link and the page's own link back to the demo
    assert 'href="javascript:' not in page


def test_html_page_lists_the_newest_mail_first() -> None:
    outbox = Outbox()
    for subject in ("older", "newer"):
        outbox.record(send_email_request("a@example.com", subject, "text"))

    page = get(outbox, None)[2].decode()

    assert page.index("<h2>newer</h2>") < page.index("<h2>older</h2>")


@pytest.mark.parametrize(
    ("accept", "is_json"),
    [
        ("application/json", True),
        ("application/json, */*;q=0.1", True),
        ("application/json, */*", True),
        ("text/html;q=0.5, application/json", True),
        ("", False),
        ("*/*", False),
        (BROWSER_ACCEPT, False),
        ("text/html, application/json", False),  # a tie goes to the page
        ("application/json;q=0.5, text/html", False),
        ("application/json;q=0", False),
        ("application/json;q=nonsense", False),
        ("application/jsonx", False),
    ],
)
def test_json_only_when_the_client_prefers_it(accept: str, is_json: bool) -> None:
    assert wants_json(accept) is is_json
    content_type = get(Outbox(), accept)[1]["Content-Type"]
    assert content_type == ("application/json" if is_json else "text/html; charset=utf-8")


def test_the_listener_hears_each_mail_and_the_console_shows_its_links(capsys: pytest.CaptureFixture[str]) -> None:
    outbox = Outbox(announce)
    outbox.record(
        send_email_request("a@example.com", "Reset\x1b[2J your password", "Open https://app.test/r?token=t1 now")
    )

    assert capsys.readouterr().out == "Mail to a@example.com: Reset?[2J your password\n  https://app.test/r?token=t1\n"


@pytest.mark.parametrize("host", ["127.0.0.1:3000", "localhost:3000", "LOCALHOST", "[::1]:3000", "[::1]"])
def test_a_request_to_a_loopback_name_is_answered(host: str) -> None:
    assert get(Outbox(), "application/json", host)[0] == 200


@pytest.mark.parametrize("host", ["attacker.example:3000", "localhost.attacker.example", "127.0.0.1.nip.io:3000", ""])
def test_a_page_of_another_site_rebound_to_the_loopback_reads_nothing(host: str) -> None:
    # A page at attacker.example whose name now resolves to 127.0.0.1 is same-origin with itself, not with the
    # local API: its requests carry its own name in Host.
    outbox = Outbox()
    outbox.record(send_email_request("victim@example.com", "Reset your password", "https://app.test/r?token=secret"))

    status, _, body = get(outbox, "application/json", host)

    assert status == 421
    assert b"secret" not in body and b"victim" not in body


# ---------------------------------------------------------------------------------------------------------------
# Only the local server has it, and only with the embedded backend.


@pytest.fixture
def server() -> Iterator[LocalServer]:
    server = LocalServer(("127.0.0.1", 0), LocalGateway(load_template(), ROOT, log=lambda line: None))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def fetch(server: LocalServer, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", path, headers={"Accept": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_without_the_embedded_backend_the_outbox_is_the_gateways_not_found(server: LocalServer) -> None:
    server.extra_routes.update(local_pages(None))  # existing tables: mail goes to real SES, which has no outbox

    status, body = fetch(server, OUTBOX_PATH)

    assert (status, json.loads(body)["error"]) == (404, "not_found")


def test_with_the_embedded_backend_the_local_server_serves_it(server: LocalServer) -> None:
    outbox = Outbox()
    outbox.record(send_email_request("a@example.com", "Subject", "text"))
    server.extra_routes.update(local_pages(outbox))

    status, body = fetch(server, OUTBOX_PATH)

    assert status == 200
    assert [message["to"] for message in json.loads(body)["messages"]] == ["a@example.com"]


def test_no_deployed_route_or_documented_path_is_local() -> None:
    gateway = LocalGateway(load_template(), ROOT, log=lambda line: None)

    assert gateway.route("GET", OUTBOX_PATH) is None
    assert not [route for route in gateway.routes if route.resource.startswith("/_local")]
    assert not [path for path in json.loads(DOCUMENT_PATH.read_text())["paths"] if path.startswith("/_local")]

"""The local HTTP server (infra/local.py) hands every method to the gateway, which answers what API Gateway answers:
no 501 from http.server for a method it has no `do_` for."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.cfn import load_template
from infra.gateway import LocalGateway
from infra.local import LocalServer
from tests.contract import SECURITY_HEADERS

ROOT = Path(__file__).resolve().parents[2]
NOT_FOUND = b'{"error":"not_found","message":"No such route."}'  # the template's MISSING_AUTHENTICATION_TOKEN


@pytest.fixture
def server() -> Iterator[LocalServer]:
    server = LocalServer(("127.0.0.1", 0), LocalGateway(load_template(), ROOT, log=lambda line: None))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def send(server: LocalServer, method: str, target: str, headers: dict[str, str] | None = None) -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, target, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("PUT", "/me"),
        ("DELETE", "/me"),
        ("PATCH", "/me"),
        ("POST", "/nope"),
        ("OPTIONS", "/nope"),
        ("TRACE", "/me"),
        ("CONNECT", "127.0.0.1:443"),
        ("BREW", "/me"),  # a method no one has
        ("get", "/me"),  # methods are case-sensitive
    ],
)
def test_a_method_no_route_has_gets_the_missing_authentication_token_response(
    server: LocalServer, method: str, target: str
) -> None:
    status, headers, body = send(server, method, target)

    assert (status, body) == (404, NOT_FOUND)
    sent = dict(headers)
    assert sent["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    for name, value in SECURITY_HEADERS.items():
        assert sent[name] == value, name


def test_head_of_a_get_route_is_answered_without_a_body(server: LocalServer) -> None:
    status, headers, body = send(server, "HEAD", "/me")

    # A REST API has no implicit HEAD for a GET method: no route, and HTTP sends no body with a HEAD answer.
    assert (status, body) == (404, b"")
    assert dict(headers)["Content-Length"] == str(len(NOT_FOUND))


def test_a_declared_options_route_reaches_its_function(aws: dict[str, Any], server: LocalServer) -> None:
    headers = {"Origin": "http://127.0.0.1:3000", "Access-Control-Request-Method": "GET"}

    status, sent, _ = send(server, "OPTIONS", "/me", headers)

    assert status == 204
    assert dict(sent)["Access-Control-Allow-Origin"] == "http://127.0.0.1:3000"

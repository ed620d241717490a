"""How the local gateway's tests call it: one request as the HTTP server hands it over, and what every answer needs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auth_core import container
from tests.conftest import PASSWORD
from tests.contract import SECURITY_HEADERS
from tests.e2e.localapi import Reply

if TYPE_CHECKING:
    from infra.gateway import LocalGateway

ROOT = Path(__file__).resolve().parents[3]
CHALLENGE = 'Bearer realm="serverless-jwt-auth"'
NOT_FOUND = {"error": "not_found", "message": "No such route."}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def call(
    gateway: LocalGateway,
    method: str,
    path: str,
    *,
    body: Any = None,
    raw: bytes | None = None,
    token: str | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> Reply:
    sent = [("Host", "127.0.0.1:3000"), ("User-Agent", "pytest")]
    if token is not None:
        sent.append(("Authorization", f"Bearer {token}"))
    if body is not None:
        sent.append(("Content-Type", "application/json"))
    sent += headers or []
    data = raw if raw is not None else json.dumps(body).encode() if body is not None else b""
    return Reply(*gateway.handle(method, path, sent, data, "203.0.113.9"))


def sign_in(gateway: LocalGateway, email: str = "ada@example.com", *, admin: bool = False) -> dict[str, Any]:
    if admin:
        user_id = container.auth_service().create_admin(email=email, password=PASSWORD).id
    else:
        registered = call(gateway, "POST", "/auth/register", body={"email": email, "password": PASSWORD})
        assert registered.status == 201, registered.body
        user_id = registered.body["user"]["id"]
    login = call(gateway, "POST", "/auth/login", body={"email": email, "password": PASSWORD})
    assert login.status == 200, login.body
    return {**login.body, "user_id": user_id, "cookie": login.header("Set-Cookie")}


def assert_security_headers(reply: Reply) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert reply.all(name) == [value], (name, reply.headers)


def assert_no_trace(reply: Reply) -> None:
    text = reply.raw.decode()
    for leak in ("Traceback", "Error:", "Exception", "test-users", "test-tokens", 'File "'):
        assert leak not in text, text

"""A tiny HTTP client for the local API (stdlib only) that checks the contract's security headers on every reply."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tests.contract import expected_security_headers

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "Adm1n-correct-horse-battery"
PASSWORD = "correct horse battery staple 42"


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    raw: bytes

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[-1] if values else None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    @property
    def refresh_cookie(self) -> str:
        """`refresh_token=<token>` from this reply's Set-Cookie, ready for a Cookie header."""
        [cookie] = [value for value in self.all("Set-Cookie") if value.startswith("refresh_token=")]
        return cookie.split(";")[0]


class Client:
    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        token: str | None = None,
        cookie: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if cookie is not None:
            sent["Cookie"] = cookie
        sent |= headers or {}
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            reply = Reply(response.status, response.getheaders(), response.read())
        finally:
            connection.close()
        for name, value in expected_security_headers(path, reply.status).items():
            assert reply.all(name) == [value], f"{method} {path} -> {reply.status}: {name} is {reply.all(name)}"
        return reply

    def register(self, email: str, password: str = PASSWORD) -> Reply:
        reply = self.request("POST", "/auth/register", body={"email": email, "password": password})
        assert reply.status == 201, reply.body
        return reply

    def login(self, email: str, password: str = PASSWORD) -> Reply:
        reply = self.request("POST", "/auth/login", body={"email": email, "password": password})
        assert reply.status == 200, reply.body
        return reply

"""The API as a client sees it, in-process: requests go through `infra.gateway.LocalGateway`, so routing, the Lambda
authorizer and the gateway responses are the template's, as deployed.

`GatewayApi.call` sends what a browser on the local origin would (the headers of the sample events in events/) and
returns a `Reply` with the status, the headers (multi-value) and the JSON body.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from infra.gateway import LocalGateway

ROOT = Path(__file__).resolve().parents[1]
# The gateway's own lines (one per request, a function's traceback) go to logging, which pytest shows with a failed
# test, and not to stderr, where the tests of the service's log lines read only what the functions write.
GATEWAY_LOG = logging.getLogger("tests.gateway")
GATEWAY_LOG.setLevel(logging.INFO)
# What a browser on the local origin sends; a test overrides one with `headers={name: value}`, or drops it with None.
DEFAULT_HEADERS = {
    "Accept": "application/json",
    "Host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Origin": "http://127.0.0.1:3000",
    "X-Forwarded-Port": "443",
    "X-Forwarded-Proto": "https",
}


@dataclass
class Reply:
    status: int
    headers: dict[str, list[str]]
    body: Any = None
    raw_body: str = ""

    def header(self, name: str) -> str | None:
        for key, values in self.headers.items():
            if key.lower() == name.lower():
                return values[-1]
        return None

    @property
    def cookies(self) -> list[str]:
        return [v for k, values in self.headers.items() if k.lower() == "set-cookie" for v in values]


def local_gateway(template: dict[str, Any]) -> LocalGateway:
    """The gateway the tests drive: several invocations of one function may run at once (as in several Lambda
    environments), so races can be tested; the authorizer cache is off whatever the environment says, so a
    revocation shows on the very next request, as with the template's default."""
    return LocalGateway(
        template,
        ROOT,
        parameters={"AuthorizerCacheTtlSeconds": "0"},
        log=GATEWAY_LOG.info,
        serialize_functions=False,
    )


class GatewayApi:
    """One client of the API: remembers nothing between calls (tests pass tokens and cookies explicitly)."""

    def __init__(self, gateway: LocalGateway) -> None:
        self.gateway = gateway

    def call(
        self,
        method: str,
        route: str,
        *,
        body: Any = None,
        raw_body: str | None = None,
        token: str | None = None,
        headers: dict[str, str | None] | None = None,
        path_params: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        source_ip: str = "203.0.113.7",
    ) -> Reply:
        """`route` is the template's path ("/admin/users/{user_id}"), filled in from `path_params`."""
        path = route
        for name, value in (path_params or {}).items():
            path = path.replace("{" + name + "}", value)
        if query:
            path = f"{path}?{urlencode(query)}"
        data = raw_body.encode() if raw_body is not None else json.dumps(body).encode() if body is not None else b""
        chosen: dict[str, str | None] = {**DEFAULT_HEADERS}
        if data:
            chosen["Content-Type"] = "application/json"
        if token:
            chosen["Authorization"] = f"Bearer {token}"
        for name, value in (headers or {}).items():
            chosen = {key: known for key, known in chosen.items() if key.lower() != name.lower()}
            chosen[name] = value
        sent = [(name, value) for name, value in chosen.items() if value is not None]
        status, answer_headers, raw = self.gateway.handle(method, path, sent, data, source_ip)
        return _reply(status, answer_headers, raw)


def _reply(status: int, headers: list[tuple[str, str]], raw: bytes) -> Reply:
    grouped: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for name, value in headers:
        grouped.setdefault(spelling.setdefault(name.lower(), name), []).append(value)
    text = raw.decode("utf-8", errors="replace")
    return Reply(status, grouped, json.loads(text) if text else None, text)

"""One request on its way through the gateway, and the shape of an HTTP answer."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

Header = tuple[str, str]
Answer = tuple[int, list[Header], bytes]  # status, headers in order, body


@dataclass
class Request:
    method: str
    path: str
    query: str  # the raw query string, without the "?"
    headers: list[Header]
    body: bytes
    source_ip: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.time)
    resource: str | None = None  # the matched route's template path, once routed
    authorizer_context: dict[str, Any] = field(default_factory=dict)  # for `$context.authorizer.*`, once authorized

    def header(self, name: str) -> str | None:
        """The last value of a header (names are case-insensitive), as API Gateway's single-value view has it."""
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[-1] if values else None

    def query_pairs(self) -> list[tuple[str, str]]:
        """The query string's (name, value) pairs, decoded, in order; `flag` alone is ("flag", "")."""
        pairs = (piece.partition("=") for piece in self.query.split("&") if piece)
        return [(unquote_plus(name), unquote_plus(value)) for name, _, value in pairs]

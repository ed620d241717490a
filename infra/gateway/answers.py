"""A Lambda proxy result turned into the HTTP answer, checked as API Gateway checks it.

API Gateway wants a JSON object with an integer `statusCode`, a string `body` and scalar header values; anything else
is "Malformed Lambda proxy response", a 502. Response headers travel as "Amazon API Gateway important notes" (REST
APIs, the Lambda column) says: some are dropped, some renamed `x-amzn-Remapped-<name>` (WWW-Authenticate among
them); an answer without Content-Type gets `application/json`.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from infra.gateway.policy import is_scalar

if TYPE_CHECKING:
    from collections.abc import Callable

    from infra.gateway.request import Answer, Header

RESPONSE_HEADERS_REMAPPED = frozenset(
    {"authorization", "connection", "content-md5", "date", "max-forwards", "server", "user-agent", "www-authenticate"}
)
# Dropped by API Gateway, plus Content-Length, which the HTTP server computes from the body it sends.
RESPONSE_HEADERS_DROPPED = frozenset(
    {"content-length", "expect", "host", "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade", "via"}
)
PROXY_RESULT_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})


def proxy_answer(result: Any, request_id: str, log: Callable[[str], None]) -> Answer | None:
    """The HTTP answer for a Lambda proxy result, or None when API Gateway would call it malformed (the reason is
    logged, each line starting with what `log` is given)."""
    problem = proxy_result_problem(result)
    if problem is not None:
        log(f"malformed Lambda proxy response: {problem}")
        return None
    extra = sorted(set(result) - PROXY_RESULT_KEYS)
    if extra:
        log(f"keys API Gateway doesn't read in a proxy result: {', '.join(extra)}")
    body_text = result.get("body") or ""
    if result.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body_text, validate=True)
        except (binascii.Error, ValueError):
            log("isBase64Encoded is true but the body is not base64")
            return None
    else:
        body = body_text.encode("utf-8")
    headers = [sent for name, value in _header_pairs(result) if (sent := _as_sent(name, value)) is not None]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers.append(("x-amzn-RequestId", request_id))
    return int(result["statusCode"]), headers, body


def _header_pairs(result: dict[str, Any]) -> list[Header]:
    """multiValueHeaders, then the headers map; a pair present in both comes once."""
    pairs: list[Header] = []
    for name, values in (result.get("multiValueHeaders") or {}).items():
        pairs.extend((name, _header_text(value)) for value in values)
    for name, value in (result.get("headers") or {}).items():
        pair = (name, _header_text(value))
        if not any(n.lower() == name.lower() and v == pair[1] for n, v in pairs):
            pairs.append(pair)
    return pairs


def _as_sent(name: str, value: str) -> Header | None:
    lowered = name.lower()
    if lowered in RESPONSE_HEADERS_DROPPED:
        return None
    return (f"x-amzn-Remapped-{name}", value) if lowered in RESPONSE_HEADERS_REMAPPED else (name, value)


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def proxy_result_problem(result: Any) -> str | None:
    """Why API Gateway would refuse this Lambda proxy result (a 502), or None when it is well formed."""
    if not isinstance(result, dict):
        return f"the result is a {type(result).__name__}, not an object"
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return "statusCode must be an integer HTTP status"
    if result.get("body") is not None and not isinstance(result["body"], str):
        return "body must be a string"
    if not isinstance(result.get("isBase64Encoded", False), bool):
        return "isBase64Encoded must be a boolean"
    headers = result.get("headers")
    if headers is not None and not (isinstance(headers, dict) and all(is_scalar(v) for v in headers.values())):
        return "headers must map names to strings"
    multi = result.get("multiValueHeaders")
    if multi is not None and not (
        isinstance(multi, dict)
        and all(isinstance(values, list) and all(is_scalar(v) for v in values) for values in multi.values())
    ):
        return "multiValueHeaders must map names to lists of strings"
    return None

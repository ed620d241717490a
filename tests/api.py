"""Drive the handlers the way API Gateway does: sample events from events/, the authorizer first on protected routes.

`Api.call` returns a `Reply` with the status, the headers (multi-value, as API Gateway merges them) and the JSON body.
"""

from __future__ import annotations

import copy
import importlib
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"

# route -> (sample event, function directory); protected routes run the authorizer first.
ROUTES: dict[tuple[str, str], tuple[str, str, bool]] = {
    ("POST", "/auth/register"): ("register", "register", False),
    ("POST", "/auth/login"): ("login", "login", False),
    ("POST", "/auth/refresh"): ("refresh", "refresh", False),
    ("POST", "/auth/logout"): ("logout", "logout", False),
    ("POST", "/auth/logout-all"): ("logout-all", "logout", True),
    ("GET", "/me"): ("me", "me", True),
    ("GET", "/admin/users"): ("admin-list-users", "admin", True),
    ("GET", "/admin/users/{user_id}"): ("admin-get-user", "admin", True),
    ("PATCH", "/admin/users/{user_id}"): ("admin-patch-user", "admin", True),
}


class LambdaContext:
    function_name = "test-function"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id = "test-invocation"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def handler_of(function: str) -> Any:
    return importlib.import_module(f"functions.{function}.app").handler


@dataclass
class Reply:
    status: int
    headers: dict[str, list[str]]
    body: Any = None
    raw_body: str = ""
    authorizer: dict[str, Any] | None = field(default=None)

    def header(self, name: str) -> str | None:
        for key, values in self.headers.items():
            if key.lower() == name.lower():
                return values[-1]
        return None

    @property
    def cookies(self) -> list[str]:
        return [v for k, values in self.headers.items() if k.lower() == "set-cookie" for v in values]


def _with_headers(event: dict[str, Any], headers: dict[str, str | None]) -> None:
    for name, value in headers.items():
        for bag in ("headers", "multiValueHeaders"):
            event[bag] = {k: v for k, v in (event.get(bag) or {}).items() if k.lower() != name.lower()}
        if value is not None:
            event["headers"][name] = value
            event["multiValueHeaders"][name] = [value]


def _reply(result: dict[str, Any]) -> Reply:
    headers = {k: list(v) for k, v in (result.get("multiValueHeaders") or {}).items()}
    for name, value in (result.get("headers") or {}).items():
        headers.setdefault(name, [value])
    raw = result.get("body") or ""
    return Reply(result["statusCode"], headers, json.loads(raw) if raw else None, raw)


class Api:
    """One client of the API: remembers nothing between calls unless told (tests pass tokens explicitly)."""

    def authorize(self, token_header: str | None) -> tuple[dict[str, Any] | None, Reply | None]:
        """What API Gateway's TOKEN authorizer step does: the context on Allow, or the gateway's own 401/503."""
        if not token_header:
            return None, Reply(401, {}, {"error": "missing_token"})
        event = load_event("authorizer-token")
        event["authorizationToken"] = token_header
        result = handler_of("authorizer")(event, LambdaContext())
        statement = result["policyDocument"]["Statement"][0]
        if statement["Effect"] != "Allow":
            context = result.get("context", {})
            return None, Reply(401, {}, {"error": context.get("error"), "message": context.get("message")})
        return {"principalId": result["principalId"], **result.get("context", {}), "integrationLatency": 0}, None

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
        event_name, function, is_protected = ROUTES[(method, route)]
        event = copy.deepcopy(load_event(event_name))
        all_headers: dict[str, str | None] = {"Authorization": f"Bearer {token}" if token else None, "Cookie": None}
        all_headers.update(headers or {})
        _with_headers(event, all_headers)
        event["body"] = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
        event["pathParameters"] = path_params
        path = route
        for name, value in (path_params or {}).items():
            path = path.replace("{" + name + "}", value)
        event["path"] = path
        event["requestContext"]["path"] = f"/dev{path}"
        event["requestContext"]["requestId"] = str(uuid.uuid4())
        event["requestContext"]["identity"]["sourceIp"] = source_ip
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
        event["requestContext"].pop("authorizer", None)
        if is_protected:
            context, refused = self.authorize(event["headers"].get("Authorization"))
            if refused is not None:
                return refused
            event["requestContext"]["authorizer"] = context
        return _reply(handler_of(function)(event, LambdaContext()))

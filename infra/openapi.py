"""The OpenAPI document of the API, generated from the handlers' own routes and models (Powertools), with what only
the gateway knows added from template.yaml: which routes need the bearer token, and the error answers.

`python -m infra.openapi` rewrites infra/openapi.json (committed; a test fails when it drifts from the code).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from infra.cfn import load_template

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")
FUNCTIONS = ("register", "login", "refresh", "logout", "me", "admin")
BEARER = "bearerAuth"
ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}

# (method, path) -> the statuses it can answer besides success; every route can also answer 500 and 503.
ERRORS: dict[tuple[str, str], dict[int, str]] = {
    ("post", "/auth/register"): {400: "validation_error", 409: "email_taken", 429: "rate_limited"},
    ("post", "/auth/login"): {
        400: "validation_error",
        401: "invalid_credentials",
        429: "too_many_attempts (with Retry-After) or rate_limited",
    },
    ("post", "/auth/refresh"): {
        400: "validation_error or invalid_request (malformed refresh token, or a cookie from another origin)",
        401: "invalid_token, token_expired or token_revoked",
        429: "rate_limited",
    },
    ("post", "/auth/logout"): {400: "validation_error or invalid_request"},
}
PROTECTED_ERRORS = {401: "missing_token, invalid_token, token_expired or token_revoked"}
ADMIN_ERRORS = {403: "insufficient_role", 400: "validation_error"}
ALWAYS = {
    400: "validation_error (a body over 16 KiB, whatever the route)",
    429: "rate_limited (API Gateway throttling)",
    500: "internal_error (the message carries the request id)",
    503: "service_unavailable",
}
SETS_COOKIE = {
    ("post", "/auth/login"): "200",
    ("post", "/auth/refresh"): "200",
    ("post", "/auth/logout"): "204",
    ("post", "/auth/logout-all"): "204",
}
READS_COOKIE = {("post", "/auth/refresh"), ("post", "/auth/logout")}
REFRESH_COOKIE_PARAMETER = {
    "name": "refresh_token",
    "in": "cookie",
    "required": False,
    "description": "the refresh token, when the body doesn't carry it (browsers)",
    "schema": {"type": "string"},
}
COOKIE_HEADER = {
    "Set-Cookie": {
        "description": "refresh_token=<token>; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=<seconds> "
        "(Max-Age=0 clears it on logout)",
        "schema": {"type": "string"},
    }
}
PLACEHOLDER_ENV = {
    "USERS_TABLE_NAME": "users",
    "TOKENS_TABLE_NAME": "tokens",
    "SIGNING_KEY_SECRET_ARN": "signing-key",
}

DESCRIPTION = """A self-hosted JWT authentication API.

Access tokens are HS256 JWTs (`typ: at+jwt`) sent as `Authorization: Bearer <token>`. Refresh tokens are rotated on
every use and travel in the `refresh_token` cookie (HttpOnly, Secure, SameSite=Strict, Path=/auth) or in the body.
Every error body is `{"error": "<code>", "message": "<text>"}`, plus `details` for validation errors; every 401
carries `WWW-Authenticate: Bearer`."""


def protected_routes() -> set[tuple[str, str]]:
    """(method, path) of every route behind the Lambda authorizer, read from the template."""
    routes = set()
    for resource in load_template()["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            properties = event.get("Properties", {})
            if event.get("Type") == "Api" and (properties.get("Auth") or {}).get("Authorizer") != "NONE":
                routes.add((properties["Method"].lower(), properties["Path"]))
    return routes


def _route_documents() -> list[dict[str, Any]]:
    for name, value in PLACEHOLDER_ENV.items():
        os.environ.setdefault(name, value)
    return [
        json.loads(importlib.import_module(f"functions.{name}.app").app.get_openapi_json_schema()) for name in FUNCTIONS
    ]


def _error_responses(errors: dict[int, str]) -> dict[str, Any]:
    return {
        str(status): {"description": codes, "content": {"application/json": {"schema": ERROR_REF}}}
        for status, codes in sorted(errors.items())
    }


def build_document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for document in _route_documents():
        for path, operations in document.get("paths", {}).items():
            paths.setdefault(path, {}).update(operations)
        schemas.update(document.get("components", {}).get("schemas", {}))
    # We answer validation failures with 400 and our error body, not Powertools' 422.
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(name, None)
    schemas["ErrorResponse"] = {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string"},
            "message": {"type": "string"},
            "details": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    }
    protected = protected_routes()
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            if (method, path) in SETS_COOKIE:
                responses[SETS_COOKIE[(method, path)]]["headers"] = COOKIE_HEADER
            if (method, path) in READS_COOKIE:
                operation.setdefault("parameters", []).append(REFRESH_COOKIE_PARAMETER)
            errors = {**ALWAYS, **ERRORS.get((method, path), {})}
            if (method, path) in protected:
                operation["security"] = [{BEARER: []}]
                errors.update(PROTECTED_ERRORS)
            if path.startswith("/admin/"):
                errors.update(ADMIN_ERRORS)
                if "{user_id}" in path:
                    errors[404] = "not_found"
            responses.update(_error_responses(errors))
    return {
        "openapi": "3.1.0",
        "info": {"title": "serverless-jwt-auth", "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": "/", "description": "the API's stage root (locally http://127.0.0.1:3000)"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    DOCUMENT_PATH.write_text(render())
    print(f"wrote {DOCUMENT_PATH}", file=sys.stderr)

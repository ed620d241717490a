"""The OpenAPI document of the API: every function's own document (Powertools, from its routes and models), merged
with Powertools' OpenAPIMerge, then what the models and routes can't say: which routes need the bearer token (the
template), the error answers, the refresh cookie, and the rules the handlers enforce beyond the models' JSON Schema.

`python -m infra.openapi` rewrites infra/openapi.json (committed; a test fails when it drifts from the code).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import Server
from email_validator import SPECIAL_USE_DOMAIN_NAMES

from auth_core import refresh_tokens
from auth_core.passwords import MIN_LENGTH, PASSPHRASE_LENGTH
from infra.cfn import load_template
from infra.gateway import LocalGateway

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT_PATH = Path(__file__).with_name("openapi.json")
BEARER = "bearerAuth"
ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}

PROTECTED_ERRORS = {401: "missing_token, invalid_token, token_expired or token_revoked"}
INVALID_LINK = "invalid_link: a link token that is malformed, unknown, expired or already used"
# (method, path) -> the statuses it can answer besides success; every route can also answer 500 and 503.
ERRORS: dict[tuple[str, str], dict[int, str]] = {
    ("post", "/auth/register"): {400: "validation_error", 409: "email_taken", 429: "rate_limited"},
    ("post", "/auth/login"): {
        400: "validation_error",
        401: "invalid_credentials",
        403: "email_not_verified: the right password of an account whose email is not verified (when required)",
        429: "too_many_attempts (with Retry-After) or rate_limited",
    },
    ("post", "/auth/refresh"): {
        400: "validation_error, or invalid_request: a malformed refresh token or a cookie from another origin",
        401: "missing_token (no refresh token at all), invalid_token, token_expired or token_revoked",
        429: "rate_limited",
    },
    ("post", "/auth/logout"): {
        400: "validation_error or invalid_request",
        401: "invalid_token (a refresh token in the body and a different one in the cookie)",
    },
    ("post", "/auth/verify-email"): {400: f"validation_error, or {INVALID_LINK}"},
    ("post", "/auth/password/reset"): {
        400: f"validation_error (a password the policy refuses: the link stays unspent), or {INVALID_LINK}"
    },
    ("post", "/me/password"): {
        400: "validation_error (a new password the policy refuses, or the current one)",
        401: f"{PROTECTED_ERRORS[401]}, or invalid_credentials: a wrong current password, counted as a failed login",
        429: "too_many_attempts (with Retry-After: the account's login throttle) or rate_limited",
    },
    ("delete", "/me/sessions/{session_id}"): {404: "not_found: not one of your live sessions"},
}
ADMIN_ERRORS = {403: "insufficient_role", 400: "validation_error"}
ALWAYS = {
    400: "validation_error (a body over 16 KiB, a body that isn't a JSON object, a Content-Type other than "
    "application/json, whatever the route)",
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
Every request body is a JSON object (`Content-Type: application/json`). Every error body is
`{"error": "<code>", "message": "<text>"}`, plus `details` for validation errors; every 401 carries
`WWW-Authenticate: Bearer` (API Gateway renames it `x-amzn-Remapped-WWW-Authenticate` on the functions' own 401s).
A method or path the API doesn't have is 404 `not_found`."""

ERROR_RESPONSE = {
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


# What the handlers refuse beyond the models' JSON Schema, so that a request the document calls valid is one the
# handlers take (a schema-driven client checks exactly that: tests/e2e/test_schemathesis.py).
#
# A refresh token that doesn't have the tokens' shape is a malformed request (400 invalid_request,
# refresh_tokens.py); one that has it is a 401 at worst. tests/integration/test_openapi_shapes.py checks that issued
# tokens match.
REFRESH_TOKEN = {
    "type": "string",
    "pattern": f"^{refresh_tokens.PATTERN}$",
    "maxLength": refresh_tokens.MAX_LENGTH,
    "description": "a refresh token this API issued (opaque to clients)",
}
REFRESH_COOKIE_PARAMETER = {
    "name": "refresh_token",
    "in": "cookie",
    "required": False,
    "description": "the refresh token, when the body doesn't carry it (browsers). Send one of the two: with "
    "neither, refresh answers 401 missing_token (logout has nothing to end and answers 204); with both, they must "
    "be the same token (otherwise 401 invalid_token).",
    "schema": REFRESH_TOKEN,
}
# email-validator (models.normalize_email) refuses a domain that is, or ends in, one of its SPECIAL_USE_DOMAIN_NAMES
# (the special-use names of RFC 6761, 6762 and 7686 that cannot receive mail; `.test` too, as we don't pass its
# test_environment flag), compared after IDNA/UTS-46 normalization: syntax.validate_email_domain_name. The `not`
# pattern says it for plain ASCII spellings, the description for every spelling.
_SPECIAL_USE = "|".join(
    "".join(f"[{char}{char.upper()}]" if char.isalpha() else f"\\{char}" for char in name)
    for name in SPECIAL_USE_DOMAIN_NAMES
)
EMAIL_RULES = {
    "not": {"pattern": f"[.@](?:{_SPECIAL_USE})$"},
    "description": "an address as email-validator reads it (RFC 5322, internationalized domains allowed), not in a "
    f"special-use or reserved domain ({', '.join('.' + name for name in SPECIAL_USE_DOMAIN_NAMES)}, however spelled: "
    "upper case, full-width or other Unicode forms included), which cannot receive mail; compared lowercased",
}
NEW_PASSWORD_RULES = {
    # OpenAPI's "password" format: user interfaces hide what is typed.
    "format": "password",
    "description": f"at least {MIN_LENGTH} characters mixing three of: lowercase letters, uppercase letters, digits, "
    f"symbols or spaces (two are enough from {PASSPHRASE_LENGTH} characters on); not a common password or a "
    "decorated form of one; not containing the email's local part (from 4 characters on)",
}
# UpdateUserRequest: null means "leave as is", and at least one of the two must change something.
SOMETHING_TO_CHANGE = {
    "anyOf": [
        {"required": ["role"], "properties": {"role": {"enum": ["user", "admin"]}}},
        {"required": ["status"], "properties": {"status": {"enum": ["active", "disabled"]}}},
    ]
}
CURSOR_DESCRIPTION = "the next_cursor of the previous page, as it came (opaque); anything else is 400 validation_error"


def api_routes(gateway: LocalGateway) -> list[tuple[str, str, str]]:
    """(method, path, function) of every route the template gives the API, CORS preflights left out."""
    return [
        (route.method.lower(), route.resource, route.function) for route in gateway.routes if route.method != "OPTIONS"
    ]


def protected_routes() -> set[tuple[str, str]]:
    """(method, path) of every route behind the Lambda authorizer, read from the template."""
    gateway = _gateway()
    return {
        (route.method.lower(), route.resource)
        for route in gateway.routes
        if route.authorizer is not None and route.method != "OPTIONS"
    }


def _gateway() -> LocalGateway:
    return LocalGateway(load_template(), ROOT, log=lambda line: None)


def merged_document() -> dict[str, Any]:
    """Every API function's own document, merged by Powertools (a route declared twice is an error)."""
    for name, value in PLACEHOLDER_ENV.items():
        os.environ.setdefault(name, value)  # the handlers read their settings at import
    gateway = _gateway()
    merge = OpenAPIMerge(
        title="serverless-jwt-auth",
        version="1.0.0",
        description=DESCRIPTION,
        servers=[Server(url="/", description="the API's stage root (locally http://127.0.0.1:3000)")],
        on_conflict="error",
    )
    for function in sorted({function for _, _, function in api_routes(gateway)}):
        merge.add_schema(gateway.handler_module(function).app.get_openapi_schema())
    document: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    return document


def build_document() -> dict[str, Any]:
    document = merged_document()
    schemas: dict[str, Any] = document["components"]["schemas"]
    # We answer validation failures with 400 and our error body, not Powertools' 422.
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(name, None)
    schemas["ErrorResponse"] = ERROR_RESPONSE
    _refine_models(schemas)
    protected = protected_routes()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            _refine_operation(method, path, operation, is_protected=(method, path) in protected)
    document["paths"] = dict(sorted(document["paths"].items()))
    document["components"] = {
        "schemas": dict(sorted(schemas.items())),
        "securitySchemes": {BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    }
    return document


def _refine_models(schemas: dict[str, Any]) -> None:
    schemas["RefreshRequest"]["properties"]["refresh_token"]["anyOf"][0] = REFRESH_TOKEN
    for model in ("EmailRequest", "LoginRequest", "RegisterRequest"):
        schemas[model]["properties"]["email"].update(EMAIL_RULES)
    for model, field in (("RegisterRequest", "password"), ("ResetPasswordRequest", "password")):
        schemas[model]["properties"][field].update(NEW_PASSWORD_RULES)
    new_password = schemas["ChangePasswordRequest"]["properties"]["new_password"]
    new_password.update(NEW_PASSWORD_RULES, description=f"{NEW_PASSWORD_RULES['description']}; not the current one")
    update = schemas["UpdateUserRequest"]
    update.pop("minProperties")  # a null counts as a property, and a null changes nothing
    update.update(SOMETHING_TO_CHANGE)


def _refine_operation(method: str, path: str, operation: dict[str, Any], *, is_protected: bool) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    if (method, path) in SETS_COOKIE:
        responses[SETS_COOKIE[(method, path)]]["headers"] = COOKIE_HEADER
    if path in ("/auth/refresh", "/auth/logout"):
        operation.setdefault("parameters", []).append(REFRESH_COOKIE_PARAMETER)
    for parameter in operation.get("parameters", []):
        if parameter["name"] == "cursor":
            parameter["description"] = CURSOR_DESCRIPTION
    errors = dict(ALWAYS)
    if is_protected:
        operation["security"] = [{BEARER: []}]
        errors.update(PROTECTED_ERRORS)
    if path.startswith("/admin/"):
        errors.update(ADMIN_ERRORS)
        if "{user_id}" in path:
            errors[404] = "not_found"
    errors.update(ERRORS.get((method, path), {}))  # the route's own answers say the most
    responses.update(
        {
            str(status): {"description": codes, "content": {"application/json": {"schema": ERROR_REF}}}
            for status, codes in sorted(errors.items())
        }
    )


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    DOCUMENT_PATH.write_text(render())
    print(f"wrote {DOCUMENT_PATH}", file=sys.stderr)

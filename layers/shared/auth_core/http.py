"""HTTP for the handlers: the resolver, the error contract, security headers, CORS, the refresh cookie, the caller.

Every response leaves through `entry_point`, which adds the security headers, refuses bodies that are too large or
not JSON objects, and turns anything unexpected into a contract-shaped 500 carrying the request id (never a trace).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import TYPE_CHECKING, Any, NoReturn, cast

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver, CORSConfig

# Response, Body, Path, Query and OpenAPIResponse are re-exported: the handlers import them from here, after
# auth_core, which defers the event handler package's __init__ (auth_core/__init__.py).
from aws_lambda_powertools.event_handler.api_gateway import Response as Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body as Body
from aws_lambda_powertools.event_handler.openapi.params import Path as Path
from aws_lambda_powertools.event_handler.openapi.params import Query as Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse as OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from botocore.exceptions import ClientError

from auth_core import container
from auth_core.access import Principal
from auth_core.devices import DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE
from auth_core.dynamo import error_code
from auth_core.errors import (
    AuthenticationError,
    DependencyError,
    ErrorCode,
    InsufficientRoleError,
    InvalidRequestError,
    InvalidTokenError,
    ServiceError,
    TooManyAttemptsError,
    ValidationFailedError,
)
from auth_core.headers import SECURITY_HEADERS
from auth_core.models import TokenPair
from auth_core.observability import logger, metrics
from auth_core.settings import get_settings
from auth_core.tracing import traced

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.typing import LambdaContext

    from auth_core.services import Client, IssuedTokens

REFRESH_COOKIE = "refresh_token"
REFRESH_COOKIE_PATH = "/auth"
DEVICE_COOKIE_PATH = "/auth/login"  # sent to the login route only: it is no session credential
JSON = "application/json"
MAX_USER_AGENT = 256
NOT_JSON = "the body is not valid JSON"

# RFC 6750 s3: every 401 names the scheme; with an error code when a token was presented.
CHALLENGE = 'Bearer realm="serverless-jwt-auth"'


def error_response(error: ServiceError) -> Response[str]:
    headers: dict[str, str] = {}
    if isinstance(error, AuthenticationError):
        # error="invalid_token" only where a token was presented and refused (RFC 6750 s3.1).
        has_token_error = error.code not in (ErrorCode.MISSING_TOKEN, ErrorCode.INVALID_CREDENTIALS)
        headers["WWW-Authenticate"] = f'{CHALLENGE}, error="invalid_token"' if has_token_error else CHALLENGE
    if isinstance(error, TooManyAttemptsError):
        headers["Retry-After"] = str(error.retry_after_seconds)
    return Response(error.status, JSON, json.dumps(error.body()), headers=headers)


def internal_error_body(request_id: str) -> dict[str, str]:
    """The 500 body: the request id lets support find the logs; nothing else about the failure leaves."""
    return {"error": "internal_error", "message": f"An unexpected error occurred. Reference: {request_id}"}


def _validation_details(exc: RequestValidationError) -> list[dict[str, str]]:
    """Which field failed and why; never the rejected input (it may be a password)."""
    details = []
    for problem in exc.errors():
        location = [str(part) for part in problem.get("loc", ()) if part not in ("body",)]
        message = str(problem.get("msg", "is invalid")).removeprefix("Value error, ")
        if problem.get("type") == "json_invalid":
            location, message = [], NOT_JSON
        details.append({"field": ".".join(location) or "body", "message": message})
    return details


def _service_error(error: ServiceError) -> Response[str]:
    if isinstance(error, DependencyError):
        # The client learns only "retry"; operators need to tell throttling from an outage or a missing permission.
        cause = error.__cause__
        code = error_code(cause) if isinstance(cause, ClientError) else None
        logger.warning("dependency failed", extra={"cause": type(cause).__name__ if cause else None, "code": code})
    return error_response(error)


def _unsupported_content_type(exc: RequestUnsupportedContentType) -> Response[str]:
    details = [{"field": "Content-Type", "message": "must be application/json"}]
    return error_response(ValidationFailedError(details=details))


def _invalid_request(exc: RequestValidationError) -> Response[str]:
    return error_response(ValidationFailedError(details=_validation_details(exc)))


def _invalid_response(app: APIGatewayRestResolver, exc: ResponseValidationError) -> Response[str]:
    logger.error("response failed its own schema", extra={"problems": [e.get("type") for e in exc.errors()]})
    return Response(500, JSON, json.dumps(internal_error_body(app.current_event.request_context.request_id)))


def build_resolver() -> APIGatewayRestResolver:
    """The REST resolver every function uses, with pydantic validation and our error contract."""
    origins = get_settings().allowed_origins
    cors = None
    if origins:
        cors = CORSConfig(
            allow_origin=origins[0],
            extra_origins=list(origins[1:]),
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=True,  # the refresh cookie; never together with "*" (settings refuse it)
            max_age=600,
        )
    # Responses are validated against the route's declared model too: a body that doesn't match is our bug (500).
    app = APIGatewayRestResolver(cors=cors, enable_validation=True, response_validation_error_http_code=500)

    app.exception_handler(ServiceError)(_service_error)
    app.exception_handler(RequestValidationError)(_invalid_request)
    app.exception_handler(RequestUnsupportedContentType)(_unsupported_content_type)
    app.exception_handler(ResponseValidationError)(lambda exc: _invalid_response(app, exc))
    return app


def entry_point(app: APIGatewayRestResolver) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda handler of a function: observability, the body limit, the catch-all 500, security headers."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @traced
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        request_context = event.get("requestContext") or {}
        identity = request_context.get("identity") or {}
        container.use_stage(
            api_id=request_context.get("apiId"),
            region=os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION")),
            stage=request_context.get("stage"),
        )
        logger.append_keys(
            source_ip=identity.get("sourceIp"), user_agent=(identity.get("userAgent") or "")[:MAX_USER_AGENT]
        )
        try:
            refusal = _refuse_body(event)
            result = _as_proxy_result(error_response(refusal)) if refusal else app.resolve(event, context)
        except Exception:  # noqa: BLE001 - the last line of defence: a contract-shaped 500, never a trace
            logger.exception("unhandled error")
            result = {
                "statusCode": 500,
                "body": json.dumps(internal_error_body(request_context.get("requestId", "unknown"))),
                "isBase64Encoded": False,
                "multiValueHeaders": {"Content-Type": [JSON]},
            }
        return with_security_headers(result)

    return cast("Callable[[dict[str, Any], LambdaContext], dict[str, Any]]", handler)


def _refuse_body(event: dict[str, Any]) -> ValidationFailedError | None:
    """Refuse a body before the resolver sees it when it is too large, not UTF-8 (API Gateway passes bytes it can't
    read as text base64-encoded), not said to be JSON, not JSON, or a JSON array; a readable base64 body is decoded
    in place so the resolver sees text."""
    body = event.get("body") or ""
    if len(body) > get_settings().MAX_BODY_BYTES:
        return ValidationFailedError("The request body is too large.", details=[])
    # Every body is JSON (CONTRACT.md). Powertools parses form and multipart types itself, and a multipart type
    # without a boundary makes it raise a bare ValueError (a 500): refuse any other declared type first.
    content_type = _header(event, "Content-Type")
    if content_type is not None and content_type.partition(";")[0].strip().lower() != JSON:
        return ValidationFailedError(details=[{"field": "Content-Type", "message": "must be application/json"}])
    if event.get("isBase64Encoded") and body:
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ValidationFailedError(details=[{"field": "body", "message": "must be JSON in UTF-8"}])
        event["body"], event["isBase64Encoded"] = body, False
    if body and not _is_json(body):
        return ValidationFailedError(details=[{"field": "body", "message": NOT_JSON}])
    # Every request body is an object. Powertools unwraps a list to its first item for a field that isn't a list
    # (meant for repeated form fields), so `[{...}, "junk"]` would pass as `{...}`.
    if body.lstrip(" \t\r\n").startswith("["):
        return ValidationFailedError(details=[{"field": "body", "message": "must be a JSON object"}])
    return None


def _header(event: dict[str, Any], name: str) -> str | None:
    """A request header's value, whatever the case of its name."""
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _is_json(text: str) -> bool:
    """Whether the JSON parser accepts the body. The resolver turns only a JSONDecodeError into a 400; the parser's
    other refusals, a RecursionError for deep nesting and a ValueError for an integer of over 4,300 digits (Python's
    limit since CVE-2020-10735), would escape as a 500 with a traceback. NaN and Infinity are not JSON (RFC 8259 s6),
    though Python reads them. The resolver still parses and validates the body against the route's model after this."""
    try:
        json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return False
    return True


def _as_proxy_result(response: Response[str]) -> dict[str, Any]:
    headers: dict[str, list[str]] = {"Content-Type": [JSON]}
    for name, value in (response.headers or {}).items():
        headers[name] = value if isinstance(value, list) else [value]
    return {
        "statusCode": response.status_code,
        "body": response.body,
        "isBase64Encoded": False,
        "multiValueHeaders": headers,
    }


def with_security_headers(result: dict[str, Any]) -> dict[str, Any]:
    headers = dict(result.get("multiValueHeaders") or {})
    for name, value in SECURITY_HEADERS.items():
        # A route may make its response publicly cacheable (the /.well-known/ documents); every other one is no-store.
        if name == "Cache-Control" and name in headers:
            continue
        headers[name] = [value]
    result["multiValueHeaders"] = headers
    return result


def _credential_cookie(name: str, value: str, *, path: str, max_age: int) -> Cookie:
    """A credential only the browser and this API see: HttpOnly, Secure (unless a local setting drops it),
    SameSite=Strict, on the routes of `path` only."""
    return Cookie(
        name=name,
        value=value,
        path=path,
        secure=get_settings().COOKIE_SECURE,
        http_only=True,
        same_site=SameSite.STRICT_MODE,
        max_age=max_age,
    )


def refresh_cookie(token: str, max_age: int) -> Cookie:
    """The contract's refresh cookie, Path=/auth."""
    return _credential_cookie(REFRESH_COOKIE, token, path=REFRESH_COOKIE_PATH, max_age=max_age)


def cleared_refresh_cookie() -> Cookie:
    return refresh_cookie("", 0)


def device_cookie(value: str) -> Cookie:
    """The known-device credential (CONTRACT.md "Login throttling"), sent to the login route only."""
    return _credential_cookie(DEVICE_COOKIE, value, path=DEVICE_COOKIE_PATH, max_age=DEVICE_COOKIE_MAX_AGE)


def client_of(app: APIGatewayRestResolver) -> Client:
    """Who is signing in, as API Gateway saw them: kept with the session, and the device cookie if one was sent."""
    from auth_core.services import Client

    identity = app.current_event.request_context.identity
    devices = set(_cookie_values(app, DEVICE_COOKIE))
    return Client(
        user_agent=(identity.user_agent or "")[:MAX_USER_AGENT],
        ip=identity.source_ip or "",
        device_credential=devices.pop() if len(devices) == 1 else None,  # several different: trust none
    )


def refresh_token_from(app: APIGatewayRestResolver, body_token: str | None) -> str | None:
    """The refresh token from the body, else from the cookie. Conflicting copies are a malformed request."""
    cookie_values = _cookie_values(app, REFRESH_COOKIE)
    if body_token is not None:
        if any(value != body_token for value in cookie_values):
            # Two credentials that disagree: neither is trusted (RFC 6750 s3.1 invalid_token, "invalid for other
            # reasons"); a well-formed token is a 401 at worst, as the document promises.
            raise InvalidTokenError("The refresh token in the body and the one in the cookie differ.")
        return body_token
    if not cookie_values:
        return None
    if len(set(cookie_values)) > 1:
        raise InvalidRequestError("Several different refresh-token cookies were sent.")
    _refuse_cross_site(app)
    return cookie_values[0]


def _refuse_cross_site(app: APIGatewayRestResolver) -> None:
    """CSRF defence for the cookie-authenticated routes, beside SameSite=Strict (OWASP CSRF Prevention Cheat Sheet,
    "Verifying Origin With Standard Headers" and Fetch Metadata): a browser request from an origin outside the
    allowlist may not spend the refresh cookie. Clients that send no Origin (native apps, curl) are not browsers."""
    headers = app.current_event.headers
    origin, fetch_site = headers.get("Origin"), headers.get("Sec-Fetch-Site")
    if fetch_site == "cross-site" or (origin is not None and origin not in get_settings().allowed_origins):
        raise InvalidRequestError("This origin may not use the refresh cookie.")


def _cookie_values(app: APIGatewayRestResolver, name: str) -> list[str]:
    """Every value of this cookie, empty ones included: browsers never send a cleared cookie, so an empty one is a
    malformed credential, not an absent one."""
    headers = app.current_event.multi_value_headers or {}
    lines = [value for key, values in headers.items() if key.lower() == "cookie" for value in values or []]
    if not lines and app.current_event.headers:
        lines = [value for key, value in app.current_event.headers.items() if key.lower() == "cookie"]
    values = []
    for line in lines:
        for pair in line.split(";"):
            key, separator, value = pair.strip().partition("=")
            if separator and key == name:
                values.append(value.strip().strip('"'))
    return values


def bearer_header(app: APIGatewayRestResolver) -> str | None:
    return app.current_event.headers.get("Authorization")


def caller(app: APIGatewayRestResolver) -> Principal:
    """The principal the authorizer passed in `requestContext.authorizer`."""
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    try:
        return Principal(
            sub=str(context["sub"]), email=str(context["email"]), role=str(context["role"]), sid=str(context["sid"])
        )
    except KeyError as exc:  # only a misconfigured API sends a protected route here without an authorizer
        raise RuntimeError("the route is not behind the authorizer") from exc


def require_role(app: APIGatewayRestResolver, *roles: str) -> Principal:
    """The one role guard: the caller, if their role is among `roles`; 403 insufficient_role otherwise."""
    principal = caller(app)
    if principal.role not in roles:
        raise InsufficientRoleError()
    return principal


def token_pair_response(issued: IssuedTokens) -> Response[TokenPair]:
    """200 with the TokenPair body and the refresh token in its cookie."""
    body = TokenPair(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
        refresh_expires_in=issued.refresh_expires_in,
    )
    cookies = [device_cookie(issued.device_credential)] if issued.device_credential is not None else []
    cookies.append(refresh_cookie(issued.refresh_token, issued.refresh_expires_in))
    return Response(200, JSON, body, cookies=cookies)

"""API Gateway's own answers (gateway responses): the template's GatewayResponses (status, static header values, the
application/json template with `$context.*` filled in), falling back to DEFAULT_4XX / DEFAULT_5XX and then to API
Gateway's own defaults."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.cfn import gateway_static_value
from infra.gateway.template import ACCOUNT_ID, API_ID

if TYPE_CHECKING:
    from collections.abc import Mapping

    from infra.gateway.request import Answer, Header, Request
    from infra.gateway.template import TemplateValues

# API Gateway's status code per gateway response type, used when the template sets none.
RESPONSE_STATUS = {
    "ACCESS_DENIED": 403,
    "API_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_FAILURE": 500,
    "BAD_REQUEST_PARAMETERS": 400,
    "BAD_REQUEST_BODY": 400,
    "EXPIRED_TOKEN": 403,
    "INTEGRATION_FAILURE": 504,
    "INTEGRATION_TIMEOUT": 504,
    "INVALID_API_KEY": 403,
    "INVALID_SIGNATURE": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "QUOTA_EXCEEDED": 429,
    "REQUEST_TOO_LARGE": 413,
    "RESOURCE_NOT_FOUND": 404,
    "THROTTLED": 429,
    "UNAUTHORIZED": 401,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "WAF_FILTERED": 403,
}
# `$context.error.message` per type: what API Gateway's default body {"message": ...} says.
RESPONSE_MESSAGE = {
    "ACCESS_DENIED": "User is not authorized to access this resource",
    "AUTHORIZER_CONFIGURATION_ERROR": "Internal server error",
    "AUTHORIZER_FAILURE": "Internal server error",
    "BAD_REQUEST_BODY": "Invalid request body",
    "DEFAULT_5XX": "Internal server error",
    "INTEGRATION_TIMEOUT": "Endpoint request timed out",
    "MISSING_AUTHENTICATION_TOKEN": "Missing Authentication Token",
    "REQUEST_TOO_LARGE": "Request Too Long",
    "UNAUTHORIZED": "Unauthorized",
}
# The x-amzn-ErrorType header API Gateway sends with its own answers.
ERROR_TYPE = {
    "ACCESS_DENIED": "AccessDeniedException",
    "AUTHORIZER_CONFIGURATION_ERROR": "AuthorizerConfigurationException",
    "AUTHORIZER_FAILURE": "AuthorizerConfigurationException",
    "DEFAULT_5XX": "InternalServerErrorException",
    "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
    "UNAUTHORIZED": "UnauthorizedException",
}
DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'  # API Gateway's body when nobody customized it

_CONTEXT_REFERENCE = re.compile(r"\$!?(\{)?(context|stageVariables)((?:\.[A-Za-z0-9_]+)+)(?(1)\})")


class RefusalError(Exception):
    """A gateway response instead of the integration: its type, and an optional status (DEFAULT_5XX's 502)."""

    def __init__(self, response_type: str, status: int | None = None) -> None:
        super().__init__(response_type)
        self.response_type = response_type
        self.status = status


@dataclass(frozen=True)
class GatewayResponse:
    status: int | None
    headers: tuple[Header, ...]  # name -> mapping expression, as in the template
    templates: Mapping[str, str]


class GatewayResponses:
    """The gateway responses of one API and stage."""

    def __init__(self, api_properties: Mapping[str, Any], values: TemplateValues, stage: str) -> None:
        specs: Mapping[str, Any] = api_properties.get("GatewayResponses") or {}
        self.specs = {name: _spec(spec, values) for name, spec in specs.items()}
        self._stage = stage

    def answer(self, response_type: str, request: Request, *, status: int | None = None) -> Answer:
        """API Gateway's own answer of this type: the template's, else DEFAULT_4XX/5XX's, else API Gateway's."""
        default_status = status or RESPONSE_STATUS.get(response_type, 500)
        fallback = "DEFAULT_4XX" if default_status < 500 else "DEFAULT_5XX"
        spec = self.specs.get(response_type) or self.specs.get(fallback)
        final_status = (spec.status if spec and spec.status else None) or default_status
        message = RESPONSE_MESSAGE.get(response_type, "Internal server error" if final_status >= 500 else "")
        headers: list[Header] = []
        for name, expression in spec.headers if spec else ():
            value = _mapping_value(expression, request)
            if value is not None:
                headers.append((name, value))
        template = (spec.templates.get("application/json") if spec else None) or DEFAULT_TEMPLATE
        body = render(template, self._context(request, response_type, message))
        headers.append(("Content-Type", "application/json"))
        headers.append(("x-amzn-RequestId", request.request_id))
        if response_type in ERROR_TYPE:
            headers.append(("x-amzn-ErrorType", ERROR_TYPE[response_type]))
        return final_status, headers, body.encode("utf-8")

    def _context(self, request: Request, response_type: str, message: str) -> dict[str, Any]:
        """`$context` as a gateway response template sees it."""
        return {
            "requestId": request.request_id,
            "extendedRequestId": request.request_id,
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "stage": self._stage,
            "httpMethod": request.method,
            "path": f"/{self._stage}{request.path}",
            "resourcePath": request.resource or "",
            "requestTimeEpoch": str(int(request.started * 1000)),
            "authorizer": {key: value or "" for key, value in request.authorizer_context.items()},
            "identity": {"sourceIp": request.source_ip, "userAgent": request.header("User-Agent") or ""},
            "error": {
                "message": message,
                "messageString": json.dumps(message) if message else "null",
                "responseType": response_type,
            },
        }


def _spec(spec: Mapping[str, Any], values: TemplateValues) -> GatewayResponse:
    status = values.resolve(spec.get("StatusCode"))
    headers = ((spec.get("ResponseParameters") or {}).get("Headers")) or {}
    return GatewayResponse(
        status=int(status) if status is not None else None,
        headers=tuple((str(name), str(values.resolve(value))) for name, value in headers.items()),
        templates={str(key): str(value) for key, value in (spec.get("ResponseTemplates") or {}).items()},
    )


def _mapping_value(expression: str, request: Request) -> str | None:
    """A gateway response header's value: static text, or a request header or query string value."""
    if expression.startswith("'"):
        return gateway_static_value(expression)
    prefix = "method.request.header."
    if expression.startswith(prefix):
        return request.header(expression.removeprefix(prefix))
    prefix = "method.request.querystring."
    if expression.startswith(prefix):
        wanted = expression.removeprefix(prefix)
        values = [value for name, value in request.query_pairs() if name == wanted]
        return values[-1] if values else None
    return None


def render(template: str, context: Mapping[str, Any]) -> str:
    """A mapping template's `$context.a.b` (and `${context.a.b}`, `$!context...`) references filled in; what the
    context doesn't hold renders as nothing. No other VTL."""

    def value(match: re.Match[str]) -> str:
        if match.group(2) != "context":
            return ""
        current: Any = context
        for key in match.group(3)[1:].split("."):
            if not isinstance(current, dict) or key not in current:
                return ""
            current = current[key]
        return "" if current is None or isinstance(current, dict) else str(current)

    return _CONTEXT_REFERENCE.sub(value, template)

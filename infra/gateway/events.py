"""The Lambda proxy integration's event (REST API, payload format 1.0) for a routed request.

Request headers travel as "Amazon API Gateway important notes" (REST APIs, the Lambda column) says: some are
dropped, X-Forwarded-For gets the caller's address appended, X-Forwarded-Proto and X-Amzn-Trace-Id are added.
A body that isn't UTF-8 is passed base64-encoded (no binary media types are reproduced).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from infra.gateway.template import ACCOUNT_ID, API_ID

if TYPE_CHECKING:
    from infra.gateway.request import Header, Request
    from infra.gateway.routes import Route

REQUEST_HEADERS_DROPPED = frozenset(
    {
        "connection",
        "content-md5",
        "expect",
        "max-forwards",
        "proxy-authenticate",
        "server",
        "te",
        "trailer",
        "upgrade",
        "www-authenticate",
    }
)


def proxy_event(
    request: Request, route: Route, path_parameters: dict[str, str], authorizer: dict[str, Any] | None, stage: str
) -> dict[str, Any]:
    headers: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}  # the first spelling of a header name is the key of all its values
    for name, value in integration_headers(request):
        key = spelling.setdefault(name.lower(), name)
        headers[key] = value
        multi.setdefault(key, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in request.query_pairs():
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    body, is_base64 = _body(request)
    context = _request_context(request, route, stage, host=headers.get(spelling.get("host", "Host")) or "localhost")
    if authorizer is not None:
        context["authorizer"] = authorizer
    return {
        "resource": route.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _body(request: Request) -> tuple[str | None, bool]:
    """The body as API Gateway passes it: UTF-8 text, or base64 (and the flag) when it isn't text."""
    if not request.body:
        return None, False
    try:
        return request.body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(request.body).decode("ascii"), True


def _request_context(request: Request, route: Route, stage: str, *, host: str) -> dict[str, Any]:
    return {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "resourceId": route.resource_id,
        "resourcePath": route.resource,
        "httpMethod": request.method,
        "path": f"/{stage}{request.path}",
        "stage": stage,
        "requestId": request.request_id,
        "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:6]).decode(),
        "requestTime": datetime.fromtimestamp(request.started, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(request.started * 1000),
        "protocol": "HTTP/1.1",
        "domainName": host,
        "domainPrefix": host.split(".")[0].split(":")[0],
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": request.source_ip,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": request.header("User-Agent"),
            "user": None,
        },
    }


def integration_headers(request: Request) -> list[Header]:
    """The request's headers as the integration gets them."""
    sent = [(name, value) for name, value in request.headers if name.lower() not in REQUEST_HEADERS_DROPPED]
    names = {name.lower() for name, _ in sent}
    forwarded = request.header("X-Forwarded-For")
    sent = [(name, value) for name, value in sent if name.lower() != "x-forwarded-for"]
    sent.append(("X-Forwarded-For", f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip))
    if "x-forwarded-proto" not in names:
        sent.append(("X-Forwarded-Proto", "http"))
    if "x-amzn-trace-id" not in names:
        sent.append(("X-Amzn-Trace-Id", f"Root=1-{int(request.started):08x}-{uuid.uuid4().hex[:24]}"))
    return sent


def http_api_event(
    request: Request, route: Route, path_parameters: dict[str, str], claims: dict[str, Any] | None, stage: str
) -> dict[str, Any]:
    """An HTTP API's Lambda proxy event, payload format 2.0: header names lower case and repeated values joined by
    commas, cookies apart, and a JWT authorizer's claims (as strings) and scopes under `authorizer.jwt`."""
    headers: dict[str, str] = {}
    for name, value in integration_headers(request):
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    cookie = headers.pop("cookie", None)
    query: dict[str, str] = {}
    for name, value in request.query_pairs():
        query[name] = f"{query[name]},{value}" if name in query else value
    body, is_base64 = _body(request)
    host = headers.get("host") or "localhost"
    route_key = f"{route.method} {route.resource}"
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": host,
        "domainPrefix": host.split(".")[0].split(":")[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": request.header("User-Agent") or "",
        },
        "requestId": request.request_id,
        "routeKey": route_key,
        "stage": stage,
        "time": datetime.fromtimestamp(request.started, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(request.started * 1000),
    }
    if claims is not None:
        scope = claims.get("scope")
        context["authorizer"] = {
            "jwt": {
                "claims": {
                    name: value if isinstance(value, str) else json.dumps(value) for name, value in claims.items()
                },
                "scopes": scope.split() if isinstance(scope, str) else None,
            }
        }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": is_base64,
    }
    optional: dict[str, Any] = {"cookies": cookie.split("; ") if cookie else None, "body": body}
    optional |= {"queryStringParameters": query or None, "pathParameters": path_parameters or None}
    return event | {key: value for key, value in optional.items() if value is not None}

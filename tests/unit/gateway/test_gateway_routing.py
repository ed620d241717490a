"""The local gateway's routes and events: what the template declares, the proxy event a function gets, and what
no route answers (any path, any method)."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from infra.gateway import LocalGateway
from tests.conftest import PASSWORD
from tests.unit.gateway.support import (
    NOT_FOUND,
    ROOT,
    UUID,
    assert_security_headers,
    call,
    sign_in,
)


def test_the_template_routes_are_all_there(gateway: LocalGateway) -> None:
    routes = {(route.method, route.resource): route for route in gateway.routes}
    public = {"/auth/register", "/auth/login", "/auth/refresh", "/auth/logout"}
    for path in public:
        assert routes[("POST", path)].authorizer is None
    for method, path in [("POST", "/auth/logout-all"), ("GET", "/me"), ("GET", "/admin/users")]:
        assert routes[(method, path)].authorizer is not None
    assert routes[("PATCH", "/admin/users/{user_id}")].function == "AdminFunction"
    assert all(route.authorizer is None for route in gateway.routes if route.method == "OPTIONS")
    [authorizer] = gateway.authorizers.values()
    assert (authorizer.function, authorizer.header, authorizer.ttl_seconds) == (
        "AuthorizerFunction",
        "Authorization",
        0,
    )
    assert gateway.stage == "dev"


def test_register_and_login_through_the_gateway(aws: dict[str, Any], gateway: LocalGateway) -> None:
    registered = call(gateway, "POST", "/auth/register", body={"email": "ada@example.com", "password": PASSWORD})
    assert registered.status == 201
    assert registered.body["user"]["email"] == "ada@example.com"
    assert_security_headers(registered)
    login = call(gateway, "POST", "/auth/login", body={"email": "ada@example.com", "password": PASSWORD})
    assert login.status == 200
    assert login.body["token_type"] == "Bearer"
    device, cookie = login.all("Set-Cookie")
    assert device.startswith("device=") and "Path=/auth/login" in device
    assert cookie.startswith("refresh_token=") and "HttpOnly" in cookie
    assert login.header("Content-Type") == "application/json"
    assert UUID.match(login.header("x-amzn-RequestId") or "")


def test_the_proxy_event_is_api_gateways(aws: dict[str, Any], gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    ada = sign_in(gateway)
    events = spy("MeFunction")
    reply = call(gateway, "GET", "/me", token=ada["access_token"])
    assert reply.status == 200, reply.body
    assert reply.body["message"] == "Welcome ada@example.com, to your secure dashboard."
    [event] = events
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/me", "/me", "GET")
    assert event["pathParameters"] is None
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["stageVariables"] is None
    assert (event["body"], event["isBase64Encoded"]) == (None, False)
    assert event["headers"]["Authorization"] == f"Bearer {ada['access_token']}"
    assert event["headers"]["X-Forwarded-For"] == "203.0.113.9"
    context = event["requestContext"]
    assert context["path"] == "/dev/me" and context["stage"] == "dev" and context["resourcePath"] == "/me"
    assert (context["apiId"], context["accountId"], context["httpMethod"]) == ("local", "123456789012", "GET")
    assert context["protocol"] == "HTTP/1.1"
    assert UUID.match(context["requestId"]) and context["requestId"] == reply.header("x-amzn-RequestId")
    assert abs(context["requestTimeEpoch"] / 1000 - time.time()) < 60
    assert context["identity"]["sourceIp"] == "203.0.113.9"
    assert context["identity"]["userAgent"] == "pytest"
    authorizer = context["authorizer"]
    assert authorizer["principalId"] == authorizer["sub"] == ada["user_id"]
    assert (authorizer["email"], authorizer["role"]) == ("ada@example.com", "user")
    assert isinstance(authorizer["integrationLatency"], int)


def test_public_routes_get_no_authorizer_context(
    aws: dict[str, Any], gateway: LocalGateway, spy: Callable[..., Any]
) -> None:
    events = spy("RegisterFunction")
    reply = call(gateway, "POST", "/auth/register", body={"email": "ada@example.com", "password": PASSWORD})
    assert reply.status == 201
    assert "authorizer" not in events[0]["requestContext"]
    assert json.loads(events[0]["body"]) == {"email": "ada@example.com", "password": PASSWORD}


def test_path_parameters(aws: dict[str, Any], gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    admin = sign_in(gateway, "root@example.com", admin=True)
    ada = sign_in(gateway)
    events = spy("AdminFunction")
    reply = call(gateway, "GET", f"/admin/users/{ada['user_id']}", token=admin["access_token"])
    assert reply.status == 200, reply.body
    assert reply.body["user"]["email"] == "ada@example.com"
    [event] = events
    assert event["resource"] == "/admin/users/{user_id}"
    assert event["path"] == f"/admin/users/{ada['user_id']}"
    assert event["pathParameters"] == {"user_id": ada["user_id"]}
    assert event["requestContext"]["resourcePath"] == "/admin/users/{user_id}"
    assert event["requestContext"]["path"] == f"/dev/admin/users/{ada['user_id']}"


def test_query_strings(aws: dict[str, Any], gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    admin = sign_in(gateway, "root@example.com", admin=True)
    sign_in(gateway)
    events = spy("AdminFunction")
    reply = call(gateway, "GET", "/admin/users?limit=1&tag=x&tag=y&note=a+b%21&flag", token=admin["access_token"])
    assert reply.status == 200, reply.body
    assert len(reply.body["users"]) == 1 and reply.body["next_cursor"]
    [event] = events
    assert event["path"] == "/admin/users"
    assert event["queryStringParameters"] == {"limit": "1", "tag": "y", "note": "a b!", "flag": ""}
    assert event["multiValueQueryStringParameters"] == {
        "limit": ["1"],
        "tag": ["x", "y"],
        "note": ["a b!"],
        "flag": [""],
    }


def test_multi_value_headers(aws: dict[str, Any], gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    ada = sign_in(gateway)
    events = spy("MeFunction")
    headers = [("X-Tag", "one"), ("x-tag", "two"), ("X-Forwarded-For", "198.51.100.1"), ("Max-Forwards", "3")]
    reply = call(gateway, "GET", "/me", token=ada["access_token"], headers=headers)
    assert reply.status == 200
    [event] = events
    assert event["headers"]["X-Tag"] == "two"  # the last value wins in the single-value view
    assert event["multiValueHeaders"]["X-Tag"] == ["one", "two"]
    assert event["headers"]["X-Forwarded-For"] == "198.51.100.1, 203.0.113.9"
    assert "Max-Forwards" not in event["headers"]  # dropped by API Gateway before a Lambda integration


# ---------------------------------------------------------------------------------------------------------------
# No route


@pytest.mark.parametrize("path", ["/", "/nope", "/me/", "/ME", "//me", "/admin/users/", "/auth/login/x", "/dev/me"])
def test_unknown_route_is_the_templates_404(gateway: LocalGateway, spy: Callable[..., Any], path: str) -> None:
    authorizations = spy("AuthorizerFunction")
    reply = call(gateway, "GET", path, token="anything")
    assert (reply.status, reply.body) == (404, NOT_FOUND)
    assert reply.header("Content-Type") == "application/json"
    assert_security_headers(reply)
    assert authorizations == []


@pytest.mark.parametrize(
    ("method", "path"), [("DELETE", "/me"), ("POST", "/me"), ("GET", "/auth/login"), ("PUT", "/admin/users")]
)
def test_a_known_path_with_another_method_is_404(
    gateway: LocalGateway, spy: Callable[..., Any], method: str, path: str
) -> None:
    authorizations = spy("AuthorizerFunction")
    reply = call(gateway, method, path, token="anything")
    assert (reply.status, reply.body) == (404, NOT_FOUND)
    assert authorizations == []


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "BREW", "get", "ANY"])
def test_a_method_api_gateway_does_not_have_finds_no_route(
    gateway: LocalGateway, spy: Callable[..., Any], method: str
) -> None:
    authorizations = spy("AuthorizerFunction")
    reply = call(gateway, method, "/me", token="anything")
    assert (reply.status, reply.body) == (404, NOT_FOUND)
    assert reply.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
    assert authorizations == []


def test_without_gateway_responses_no_route_is_api_gateways_403(template: dict[str, Any], log: list[str]) -> None:
    bare = copy.deepcopy(template)
    del bare["Resources"]["AuthApi"]["Properties"]["GatewayResponses"]
    gateway = LocalGateway(bare, ROOT, log=log.append)
    for method, path in [("PUT", "/me"), ("BREW", "/me"), ("GET", "/nope")]:
        reply = call(gateway, method, path)
        assert (reply.status, reply.body) == (403, {"message": "Missing Authentication Token"}), (method, path)


def test_cors_preflight_needs_no_token(gateway: LocalGateway) -> None:
    headers = [("Origin", "http://127.0.0.1:3000"), ("Access-Control-Request-Method", "GET")]
    reply = call(gateway, "OPTIONS", "/me", headers=headers)
    assert reply.status in (200, 204)
    assert reply.header("Access-Control-Allow-Origin") == "http://127.0.0.1:3000"

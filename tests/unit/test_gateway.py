"""The local API Gateway (infra/gateway/) against the real template and the real handlers, inside moto.

Each test drives `LocalGateway.handle` as the HTTP server does; a spy on a function's `handler` shows the event it
got, or replaces its answer with a broken one.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auth_core import container
from infra.cfn import load_template
from infra.gateway import LocalGateway
from tests.conftest import PASSWORD
from tests.contract import SECURITY_HEADERS
from tests.e2e.localapi import Reply

ROOT = Path(__file__).resolve().parents[2]
CHALLENGE = 'Bearer realm="serverless-jwt-auth"'
NOT_FOUND = {"error": "not_found", "message": "No such route."}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def log() -> list[str]:
    return []


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture
def make_gateway(template: dict[str, Any], log: list[str]) -> Callable[..., LocalGateway]:
    """A gateway over the real template. Tests that reach DynamoDB or Secrets Manager also take the `aws` fixture
    (moto); the others stop at the gateway or answer with a stub, and need no AWS at all."""

    def make(**options: Any) -> LocalGateway:
        return LocalGateway(template, ROOT, log=log.append, **options)

    return make


@pytest.fixture
def gateway(make_gateway: Callable[..., LocalGateway]) -> LocalGateway:
    return make_gateway()


def call(
    gateway: LocalGateway,
    method: str,
    path: str,
    *,
    body: Any = None,
    raw: bytes | None = None,
    token: str | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> Reply:
    sent = [("Host", "127.0.0.1:3000"), ("User-Agent", "pytest")]
    if token is not None:
        sent.append(("Authorization", f"Bearer {token}"))
    if body is not None:
        sent.append(("Content-Type", "application/json"))
    sent += headers or []
    data = raw if raw is not None else json.dumps(body).encode() if body is not None else b""
    return Reply(*gateway.handle(method, path, sent, data, "203.0.113.9"))


@pytest.fixture
def spy(gateway: LocalGateway, monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[dict[str, Any]]]:
    """spy("MeFunction") records the events the function gets; spy(..., answer=fn) answers with fn instead."""

    def install(logical_id: str, answer: Callable[[dict[str, Any], Any], Any] | None = None) -> list[dict[str, Any]]:
        module = gateway.handler_module(logical_id)
        original = module.handler
        events: list[dict[str, Any]] = []

        def handler(event: dict[str, Any], context: Any) -> Any:
            events.append(copy.deepcopy(event))
            return (answer or original)(event, context)

        monkeypatch.setattr(module, "handler", handler)
        return events

    return install


def sign_in(gateway: LocalGateway, email: str = "ada@example.com", *, admin: bool = False) -> dict[str, Any]:
    if admin:
        user_id = container.auth_service().create_admin(email=email, password=PASSWORD).id
    else:
        registered = call(gateway, "POST", "/auth/register", body={"email": email, "password": PASSWORD})
        assert registered.status == 201, registered.body
        user_id = registered.body["user"]["id"]
    login = call(gateway, "POST", "/auth/login", body={"email": email, "password": PASSWORD})
    assert login.status == 200, login.body
    return {**login.body, "user_id": user_id, "cookie": login.header("Set-Cookie")}


def assert_security_headers(reply: Reply) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert reply.all(name) == [value], (name, reply.headers)


def assert_no_trace(reply: Reply) -> None:
    text = reply.raw.decode()
    for leak in ("Traceback", "Error:", "Exception", "test-users", "test-tokens", 'File "'):
        assert leak not in text, text


# ---------------------------------------------------------------------------------------------------------------
# Routes, events


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
    [cookie] = login.all("Set-Cookie")
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


# ---------------------------------------------------------------------------------------------------------------
# The authorizer


@pytest.mark.parametrize("authorization", [None, "", "   "])
def test_missing_token_is_401_missing_token(
    gateway: LocalGateway, spy: Callable[..., Any], authorization: str | None
) -> None:
    authorizations = spy("AuthorizerFunction")
    headers = [] if authorization is None else [("Authorization", authorization)]
    reply = call(gateway, "GET", "/me", headers=headers)
    assert reply.status == 401
    assert reply.body["error"] == "missing_token"
    assert reply.header("WWW-Authenticate") == CHALLENGE
    assert_security_headers(reply)
    assert authorizations == []  # API Gateway doesn't call the authorizer without the identity header


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        ("Bearer not-a-jwt", None),
        ("Basic YWRhOnBhc3N3b3Jk", "The Authorization header must be: Bearer <access token>."),
    ],
)
def test_deny_is_401_with_the_authorizers_reason(
    aws: dict[str, Any], gateway: LocalGateway, authorization: str, message: str | None
) -> None:
    reply = call(gateway, "GET", "/me", headers=[("Authorization", authorization)])
    assert reply.status == 401
    assert reply.body["error"] == "invalid_token"
    assert reply.body["message"] == (message or reply.body["message"]) and reply.body["message"]
    assert reply.header("WWW-Authenticate") == f'{CHALLENGE}, error="invalid_token"'
    assert_security_headers(reply)


def test_a_revoked_token_is_denied(aws: dict[str, Any], gateway: LocalGateway) -> None:
    ada = sign_in(gateway)
    logout = call(
        gateway,
        "POST",
        "/auth/logout",
        token=ada["access_token"],
        headers=[("Cookie", ada["cookie"].split(";")[0])],
    )
    assert logout.status == 204
    reply = call(gateway, "GET", "/me", token=ada["access_token"])
    assert (reply.status, reply.body["error"]) == (401, "token_revoked")


def test_authorizer_exception_is_503(gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    def broken(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("table test-users is gone")

    spy("AuthorizerFunction", broken)
    reply = call(gateway, "GET", "/me", token="x.y.z")
    assert reply.status == 503
    assert reply.body == {
        "error": "service_unavailable",
        "message": "The service is temporarily unavailable. Please retry.",
    }
    assert_security_headers(reply)
    assert_no_trace(reply)


def test_a_failing_dependency_in_the_authorizer_is_503(aws: dict[str, Any], gateway: LocalGateway) -> None:
    ada = sign_in(gateway)
    aws["dynamodb"].delete_table(TableName="test-users")
    reply = call(gateway, "GET", "/me", token=ada["access_token"])
    assert (reply.status, reply.body["error"]) == (503, "service_unavailable")
    assert_no_trace(reply)


def test_an_unauthorized_exception_is_the_unauthorized_response(gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    def unauthorized(event: dict[str, Any], context: Any) -> Any:
        raise Exception("Unauthorized")  # what a Lambda authorizer raises for API Gateway's own 401

    spy("AuthorizerFunction", unauthorized)
    reply = call(gateway, "GET", "/me", token="x.y.z")
    assert (reply.status, reply.body["error"]) == (401, "missing_token")


ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": ["arn:aws:execute-api:*:*:local/dev/*/*"]}
    ],
}


@pytest.mark.parametrize(
    "answer",
    [
        None,
        "Allow",
        {"principalId": "u1"},
        {"principalId": "u1", "policyDocument": {"Version": "2012-10-17", "Statement": []}},
        {"principalId": "u1", "policyDocument": {"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}},
        {"principalId": "u1", "policyDocument": ALLOW_ALL, "context": {"sub": {"nested": "object"}}},
        {"principalId": "u1", "policyDocument": ALLOW_ALL, "context": {"roles": ["admin"]}},
    ],
)
def test_an_authorizer_answer_api_gateway_cant_use_is_500(
    gateway: LocalGateway, spy: Callable[..., Any], answer: Any
) -> None:
    spy("AuthorizerFunction", lambda event, context: answer)
    reply = call(gateway, "GET", "/me", token="x.y.z")
    assert reply.status == 500
    assert reply.body["error"] == "internal_error"
    assert reply.body["message"].endswith(f"Reference: {reply.header('x-amzn-RequestId')}")
    assert_security_headers(reply)


def test_the_authorizers_context_reaches_the_handler_as_strings(
    aws: dict[str, Any], gateway: LocalGateway, spy: Callable[..., Any]
) -> None:
    ada = sign_in(gateway)
    answer = {
        "principalId": ada["user_id"],
        "policyDocument": ALLOW_ALL,
        "context": {
            "sub": ada["user_id"],
            "email": "ada@example.com",
            "role": "user",
            "mfa": True,
            "level": 3,
            "x": None,
        },
    }
    spy("AuthorizerFunction", lambda event, context: answer)
    events = spy("MeFunction")
    reply = call(gateway, "GET", "/me", token="x.y.z")
    assert reply.status == 200, reply.body
    authorizer = events[0]["requestContext"]["authorizer"]
    assert (authorizer["mfa"], authorizer["level"], authorizer["x"]) == ("true", "3", None)


def test_a_policy_that_does_not_cover_the_route_is_denied(gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    only_me = {
        "Version": "2012-10-17",
        "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "arn:aws:execute-api:*:*:local/dev/GET/me"}
        ],
    }
    answer = {"principalId": "u1", "policyDocument": only_me, "context": {"error": "nope", "message": "Not here."}}
    authorizations = spy("AuthorizerFunction", lambda event, context: answer)
    reply = call(gateway, "GET", "/admin/users", token="x.y.z")
    assert (reply.status, reply.body) == (401, {"error": "nope", "message": "Not here."})
    assert authorizations[0] == {
        "type": "TOKEN",
        "authorizationToken": "Bearer x.y.z",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:local/dev/GET/admin/users",
    }


def test_the_authorizer_cache_ttl_is_honoured(
    aws: dict[str, Any], make_gateway: Callable[..., LocalGateway], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    gateway = make_gateway(parameters={"AuthorizerCacheTtlSeconds": "60"}, clock=clock)
    ada = sign_in(gateway)
    module = gateway.handler_module("AuthorizerFunction")
    calls: list[str] = []
    original = module.handler

    def counting(event: dict[str, Any], context: Any) -> Any:
        calls.append(event["authorizationToken"])
        return original(event, context)

    monkeypatch.setattr(module, "handler", counting)
    for path in ("/me", "/me", "/admin/users"):
        assert call(gateway, "GET", path, token=ada["access_token"]).status in (200, 403)
    assert len(calls) == 1  # one Allow for the whole API, cached by token
    # The trade-off the template's parameter describes: a cached Allow outlives a logout until it expires.
    cookie = [("Cookie", ada["cookie"].split(";")[0])]
    assert call(gateway, "POST", "/auth/logout", token=ada["access_token"], headers=cookie).status == 204
    assert call(gateway, "GET", "/me", token=ada["access_token"]).status == 200
    clock.now += 61
    reply = call(gateway, "GET", "/me", token=ada["access_token"])
    assert (reply.status, reply.body["error"]) == (401, "token_revoked")
    assert len(calls) == 2


def test_without_a_cache_every_request_runs_the_authorizer(
    aws: dict[str, Any], gateway: LocalGateway, spy: Callable[..., Any]
) -> None:
    ada = sign_in(gateway)
    authorizations = spy("AuthorizerFunction")
    for _ in range(3):
        assert call(gateway, "GET", "/me", token=ada["access_token"]).status == 200
    assert len(authorizations) == 3


# ---------------------------------------------------------------------------------------------------------------
# The integration's answer


def test_a_handler_that_raises_is_a_502_without_a_trace(
    gateway: LocalGateway, spy: Callable[..., Any], log: list[str]
) -> None:
    def crash(event: dict[str, Any], context: Any) -> Any:
        raise ValueError("cannot read table test-users")

    spy("RegisterFunction", crash)
    reply = call(gateway, "POST", "/auth/register", body={"email": "ada@example.com", "password": PASSWORD})
    assert reply.status == 502
    assert reply.body["error"] == "internal_error"
    assert reply.body["message"] == f"An unexpected error occurred. Reference: {reply.header('x-amzn-RequestId')}"
    assert_security_headers(reply)
    assert_no_trace(reply)
    assert any("ValueError" in line for line in log)  # the trace goes to the local log, as to CloudWatch


@pytest.mark.parametrize(
    "result",
    [
        None,
        "ok",
        [200, "{}"],
        {"body": "{}"},
        {"statusCode": "200", "body": "{}"},
        {"statusCode": True, "body": "{}"},
        {"statusCode": 700, "body": "{}"},
        {"statusCode": 200, "body": {"user": 1}},
        {"statusCode": 200, "body": "{}", "headers": {"X-A": {"b": 1}}},
        {"statusCode": 200, "body": "{}", "multiValueHeaders": {"Set-Cookie": "a=1"}},
        {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True},
        {"statusCode": 200, "body": "{}", "extra": {1, 2}},  # not JSON: Lambda's runtime can't send it
    ],
)
def test_a_malformed_proxy_result_is_a_502(gateway: LocalGateway, spy: Callable[..., Any], result: Any) -> None:
    spy("RegisterFunction", lambda event, context: result)
    reply = call(gateway, "POST", "/auth/register", body={"email": "ada@example.com", "password": PASSWORD})
    assert reply.status == 502
    assert reply.body["error"] == "internal_error"
    assert_security_headers(reply)


def test_a_handler_past_its_timeout_is_a_502(gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    gateway.functions["RegisterFunction"].timeout_seconds = 0.01

    def slow(event: dict[str, Any], context: Any) -> Any:
        time.sleep(0.05)
        return {"statusCode": 201, "body": "{}"}

    spy("RegisterFunction", slow)
    reply = call(gateway, "POST", "/auth/register", body={"email": "ada@example.com", "password": PASSWORD})
    assert (reply.status, reply.body["error"]) == (502, "internal_error")


def test_several_set_cookie_headers_stay_separate(gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    result = {
        "statusCode": 200,
        "multiValueHeaders": {"Set-Cookie": ["a=1; Path=/", "b=2; Path=/"]},
        "headers": {"Set-Cookie": "a=1; Path=/", "X-One": "1"},
        "body": "{}",
    }
    spy("RegisterFunction", lambda event, context: result)
    reply = call(gateway, "POST", "/auth/register", body={})
    assert reply.status == 200
    assert reply.all("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]  # a pair in both maps appears once
    assert reply.header("X-One") == "1"
    assert reply.header("Content-Type") == "application/json"  # API Gateway's default


def test_logout_clears_the_cookie(aws: dict[str, Any], gateway: LocalGateway) -> None:
    ada = sign_in(gateway)
    reply = call(gateway, "POST", "/auth/logout", headers=[("Cookie", ada["cookie"].split(";")[0])])
    assert (reply.status, reply.raw) == (204, b"")
    [cookie] = reply.all("Set-Cookie")
    assert cookie.startswith("refresh_token=;") and "Max-Age=0" in cookie


def test_base64_bodies_both_ways(gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    events = spy(
        "RegisterFunction",
        lambda event, context: {
            "statusCode": 200,
            "body": base64.b64encode(b"\x00\xffok").decode(),
            "isBase64Encoded": True,
            "headers": {"Content-Type": "application/octet-stream"},
        },
    )
    reply = call(gateway, "POST", "/auth/register", raw=b"\xff\xfe not utf-8")
    assert (reply.status, reply.raw) == (200, b"\x00\xffok")
    assert reply.header("Content-Type") == "application/octet-stream"
    assert events[0]["isBase64Encoded"] is True
    assert base64.b64decode(events[0]["body"]) == b"\xff\xfe not utf-8"


def test_response_headers_api_gateway_remaps_or_drops(gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    headers = {"WWW-Authenticate": CHALLENGE, "Server": "gunicorn", "Via": "1.1 proxy", "Content-Length": "999"}
    spy("RegisterFunction", lambda event, context: {"statusCode": 200, "headers": headers, "body": "{}"})
    reply = call(gateway, "POST", "/auth/register", body={})
    assert reply.header("WWW-Authenticate") is None
    assert reply.header("x-amzn-Remapped-WWW-Authenticate") == CHALLENGE
    assert reply.header("x-amzn-Remapped-Server") == "gunicorn"
    assert reply.header("Via") is None and reply.header("Content-Length") is None


def test_a_handlers_own_401_loses_its_challenge_behind_api_gateway(aws: dict[str, Any], gateway: LocalGateway) -> None:
    """As deployed: a WWW-Authenticate set by a Lambda proxy integration arrives as x-amzn-Remapped-WWW-Authenticate."""
    sign_in(gateway)
    reply = call(gateway, "POST", "/auth/login", body={"email": "ada@example.com", "password": "wrong password 42!"})
    assert (reply.status, reply.body["error"]) == (401, "invalid_credentials")
    assert reply.header("WWW-Authenticate") is None
    assert (reply.header("x-amzn-Remapped-WWW-Authenticate") or "").startswith(CHALLENGE)


def test_a_body_over_10_mb_is_request_too_large(gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    events = spy("RegisterFunction")
    reply = call(gateway, "POST", "/auth/register", raw=b"x" * (10 * 1024 * 1024 + 1))
    assert reply.status == 400
    assert reply.body == {"error": "validation_error", "message": "The request body is too large.", "details": []}
    assert events == []


def test_one_log_line_per_request_without_secrets(aws: dict[str, Any], gateway: LocalGateway, log: list[str]) -> None:
    ada = sign_in(gateway)
    log.clear()
    reply = call(gateway, "GET", "/me?x=secret-query", token=ada["access_token"])
    [line] = log
    assert re.fullmatch(r"GET /me 200 \d+ms " + reply.header("x-amzn-RequestId"), line), line
    assert ada["access_token"] not in line and "secret-query" not in line

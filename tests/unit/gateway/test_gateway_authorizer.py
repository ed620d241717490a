"""The local gateway's TOKEN authorizer: missing and denied tokens, failures, the answers API Gateway can't use,
the context that reaches the handler, and the result cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.unit.gateway.support import (
    CHALLENGE,
    assert_no_trace,
    assert_security_headers,
    call,
    sign_in,
)

if TYPE_CHECKING:
    from infra.gateway import LocalGateway


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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
            "sid": "Q2hvb3NlIGEgbG9uZyBpZA",
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

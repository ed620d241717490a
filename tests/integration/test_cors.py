"""CORS: exact allowlist, credentials only for listed origins, preflight answered by the functions."""

from __future__ import annotations

import pytest

from tests.lambda_events import LambdaContext, handler_of, load_event


def preflight(function: str, event_name: str, origin: str) -> dict:
    event = load_event(event_name)
    event["httpMethod"] = event["requestContext"]["httpMethod"] = "OPTIONS"
    event["body"] = None
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    event["headers"] = headers
    event["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
    event["requestContext"].pop("authorizer", None)
    return handler_of(function)(event, LambdaContext())


@pytest.mark.parametrize(("function", "event_name"), [("login", "login"), ("refresh", "refresh"), ("me", "me")])
def test_preflight_from_allowed_origin_allows_credentials_and_our_headers(aws, function, event_name):
    result = preflight(function, event_name, "https://app.example.com")

    headers = result["multiValueHeaders"]
    assert result["statusCode"] == 204
    assert headers["Access-Control-Allow-Origin"] == ["https://app.example.com"]
    assert headers["Access-Control-Allow-Credentials"] == ["true"]
    assert "Authorization" in headers["Access-Control-Allow-Headers"][0]
    assert headers["X-Frame-Options"] == ["DENY"]


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "https://app.example.com.evil.example"])
def test_preflight_from_other_origin_gets_no_cors_grant(aws, origin):
    result = preflight("login", "login", origin)

    headers = result["multiValueHeaders"]
    assert "Access-Control-Allow-Origin" not in headers
    assert "Access-Control-Allow-Credentials" not in headers


def test_response_to_other_origin_carries_no_cors_grant(api):
    reply = api.call(
        "POST",
        "/auth/login",
        body={"email": "x@example.com", "password": "y"},
        headers={"Origin": "https://evil.example"},
    )

    assert reply.header("Access-Control-Allow-Origin") is None
    assert reply.status == 401

"""Test settings and the moto-backed AWS every integration test runs against.

The environment is set here, before any test module imports a handler, because handlers read their settings at
import time exactly as they do in Lambda.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "USERS_TABLE_NAME": "test-users",
    "TOKENS_TABLE_NAME": "test-tokens",
    "SIGNING_KEY_SECRET_ARN": "test/signing-key",
    "TOKEN_ISSUER": "serverless-jwt-auth",
    "TOKEN_AUDIENCE": "serverless-jwt-auth-api",
    # bcrypt at its minimum cost keeps the suite fast; production refuses anything below 12 (tested).
    "BCRYPT_COST": "4",
    "ALLOW_WEAK_BCRYPT_COST": "true",
    "ALLOWED_ORIGINS": "https://app.example.com,http://127.0.0.1:3000",
    "POWERTOOLS_SERVICE_NAME": "serverless-jwt-auth",
    "POWERTOOLS_METRICS_NAMESPACE": "ServerlessJwtAuth",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}
for _name, _value in TEST_ENV.items():
    os.environ[_name] = _value
os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """moto's DynamoDB and Secrets Manager, with the tables and the secret built from template.yaml."""
    from auth_core import container
    from infra.cfn import create_signing_secret, create_tables, load_template

    with mock_aws():
        template = load_template()
        dynamodb = boto3.client("dynamodb")
        secrets = boto3.client("secretsmanager")
        create_tables(
            dynamodb,
            template,
            {"UsersTable": TEST_ENV["USERS_TABLE_NAME"], "TokensTable": TEST_ENV["TOKENS_TABLE_NAME"]},
        )
        create_signing_secret(secrets, template, TEST_ENV["SIGNING_KEY_SECRET_ARN"])
        container.reset()
        yield {"dynamodb": dynamodb, "secretsmanager": secrets, "template": template}
        container.reset()


PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def api(aws: dict[str, Any]) -> Any:
    """The API through the template's gateway (tests/gateway_api.py): `api.call(method, route, ...)` -> Reply.
    Invocations may overlap: threads calling it at once run the handlers at once, as separate Lambda environments."""
    from tests.gateway_api import GatewayApi, local_gateway

    return GatewayApi(local_gateway(aws["template"]))


@pytest.fixture
def signed_in(api: Any) -> Any:
    """Register (or create as admin) and sign in a user; returns the login reply's body plus the user's id."""
    from auth_core import container

    def sign_in(email: str = "ada@example.com", *, role: str = "user", password: str = PASSWORD) -> dict[str, Any]:
        if role == "admin":
            user_id = container.auth_service().create_admin(email=email, password=password).id
        else:
            reply = api.call("POST", "/auth/register", body={"email": email, "password": password})
            assert reply.status == 201, reply.body
            user_id = reply.body["user"]["id"]
        login = api.call("POST", "/auth/login", body={"email": email, "password": password})
        assert login.status == 200, login.body
        return {**login.body, "user_id": user_id, "email": email}

    return sign_in


@pytest.fixture
def request_ids(api: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The requestContext.requestId of every function invocation (not the authorizer's), in order."""
    seen: list[str] = []
    lambdas = api.gateway.lambdas
    invoke = lambdas.invoke

    def recording(logical_id: str, event: dict[str, Any], request_id: str) -> Any:
        if "requestContext" in event:  # the authorizer's TOKEN event has none
            seen.append(event["requestContext"]["requestId"])
        return invoke(logical_id, event, request_id)

    monkeypatch.setattr(lambdas, "invoke", recording)
    return seen

"""Test settings and the moto-backed AWS every integration test runs against.

The environment is set here, before any test module imports a handler, because handlers read their settings at
import time exactly as they do in Lambda.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator
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
    "TOKEN_ISSUER": "https://auth.example.com",
    "TOKEN_AUDIENCE": "serverless-jwt-auth-api",
    # bcrypt at its minimum cost keeps the suite fast; production refuses anything below 12 (tested).
    "BCRYPT_COST": "4",
    "ALLOW_WEAK_BCRYPT_COST": "true",
    "ALLOWED_ORIGINS": "https://app.example.com,http://127.0.0.1:3000",
    "POWERTOOLS_SERVICE_NAME": "serverless-jwt-auth",
    "POWERTOOLS_METRICS_NAMESPACE": "ServerlessJwtAuth",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
    # Sign-in of unverified accounts and the forgot/resend time floor: tests that need them turn them on.
    "REQUIRE_VERIFIED_EMAIL": "false",
    "MAIL_RESPONSE_SECONDS": "0",
    "SENDER_EMAIL": "no-reply@example.com",
    "APP_BASE_URL": "https://app.example.com",
}
for _name, _value in TEST_ENV.items():
    os.environ[_name] = _value
os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """moto's DynamoDB, Secrets Manager and KMS, with the tables, the secret and the signing key built from
    template.yaml (SIGNING_KMS_KEY_ID names the key, as the template does)."""
    from auth_core import container
    from infra.cfn import create_signing_kms_key, create_signing_secret, create_tables, load_template

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
        boto3.client("sesv2").create_email_identity(EmailIdentity=TEST_ENV["SENDER_EMAIL"])  # moto verifies it
        kms = boto3.client("kms")
        os.environ["SIGNING_KMS_KEY_ID"] = create_signing_kms_key(kms, template)
        container.reset()
        yield {"dynamodb": dynamodb, "secretsmanager": secrets, "kms": kms, "template": template}
        container.reset()
        os.environ.pop("SIGNING_KMS_KEY_ID", None)


PASSWORD = "correct horse battery staple 42"
ROLE_ARN = "arn:aws:iam::123456789012:role/serverless-jwt-auth-dev"


@pytest.fixture
def stack(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    """A deployed stack as the operator commands see it: `describe_stacks` answers with its outputs (moto can't deploy
    our template). Returns the stack's name."""
    import infra.stack

    name = "serverless-jwt-auth-dev"
    outputs = {
        "UsersTableName": TEST_ENV["USERS_TABLE_NAME"],
        "TokensTableName": TEST_ENV["TOKENS_TABLE_NAME"],
        "SigningKeySecretArn": TEST_ENV["SIGNING_KEY_SECRET_ARN"],
        "IssuerRoleArns": f"{ROLE_ARN}/login,{ROLE_ARN}/refresh",
        "SigningKeyRotatorRoleArn": f"{ROLE_ARN}/rotate-signing-key",
    }

    class CloudFormation:
        def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803 - boto3's keyword
            assert StackName == name
            return {
                "Stacks": [
                    {
                        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                        "Parameters": [{"ParameterKey": "BcryptCost", "ParameterValue": "4"}],
                    }
                ]
            }

    real_client = infra.stack.boto3.client
    monkeypatch.setattr(
        infra.stack.boto3,
        "client",
        lambda service, **kw: CloudFormation() if service == "cloudformation" else real_client(service, **kw),
    )
    return name


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


class CurrentStdout:
    """Whatever sys.stdout is at the moment of writing: pytest swaps its capture file between setup and call."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def logs(capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """Every line written to stdout or stderr from now on (the logger's own stream redirected to the capture).

    Powertools Logger writes JSON lines to the stdout it saw at import; pointing it at the captured stdout reads back
    every line a request writes (the audit trail, errors, the EMF metrics)."""
    from auth_core.observability import logger

    monkeypatch.setattr(logger.registered_handler, "stream", CurrentStdout())
    captured: list[str] = []

    def read() -> list[str]:
        out, err = capfd.readouterr()
        captured.extend(line for line in (out + err).splitlines() if line.strip())
        return captured

    return read


class OperatorStdin(io.StringIO):
    """What an operator command reads: a terminal someone types on, or a pipe (a CI job) nobody answers."""

    def __init__(self, text: str, *, is_terminal: bool) -> None:
        super().__init__(text)
        self._is_terminal = is_terminal

    def isatty(self) -> bool:
        return self._is_terminal


@pytest.fixture
def operator_types(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Make stdin a terminal on which the operator types `answer` (or, with on_terminal=False, a pipe)."""

    def set_stdin(answer: str, *, on_terminal: bool = True) -> None:
        monkeypatch.setattr("sys.stdin", OperatorStdin(answer + "\n", is_terminal=on_terminal))

    return set_stdin


@pytest.fixture
def atomic_dynamodb(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's in-process backend is not thread-safe; DynamoDB makes each API call atomic, so do the same for the
    service's client. Calls of different requests still interleave freely between one another (read, then write):
    the races the concurrency tests stage, as separate Lambdas would run them."""
    import threading

    from auth_core import container

    client, lock = container.dynamodb(), threading.Lock()
    real_call = client._make_api_call

    def atomic_call(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return real_call(*args, **kwargs)

    monkeypatch.setattr(client, "_make_api_call", atomic_call)

"""Every forgery of the catalogue (tests/security/forgeries.py) through the Lambda authorizer's handler, in-process.

The authorizer must answer Deny (never Allow) with the contract's error code in its context, and never raise: a
raise is API Gateway's AUTHORIZER_FAILURE (503), which is wrong for a forged token. The few spellings RFC 6750 makes
valid ("bearer <token>") are asserted to Allow, as the genuine caller with their current role. The refresh-token
cases go through the refresh function's handler (no authorizer in front of /auth/refresh).

Genuine material comes from moto, built once for the module as the `aws` and `signed_in` fixtures build it: two
users, a live session each, a logged-out session, the service's HMAC secret, and kms:Sign on the real signing key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.conftest import PASSWORD, TEST_ENV
from tests.gateway_api import GatewayApi, local_gateway
from tests.lambda_events import LambdaContext, handler_of, load_event
from tests.security.forgeries import ALLOW, AUTHORIZER_CODES, Case, Genuine, cases_for, claims_of

CASES = cases_for("authorizer")


def params(cases: list[Case]) -> list[Any]:
    return [
        pytest.param(case, id=case.name, marks=[pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else [])
        for case in cases
    ]


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[GatewayApi, Genuine]]:
    """What the `aws` and `signed_in` fixtures build, once for the module (the forgeries change nothing): moto with
    the template's tables and secret, two signed-in users, a logged-out session, and the real signing key."""
    from auth_core import container
    from infra.cfn import create_signing_kms_key, create_signing_secret, create_tables, load_template
    from tests.signing import kms_signature

    with mock_aws():
        template = load_template()
        tables = {"UsersTable": TEST_ENV["USERS_TABLE_NAME"], "TokensTable": TEST_ENV["TOKENS_TABLE_NAME"]}
        create_tables(boto3.client("dynamodb"), template, tables)
        secrets = boto3.client("secretsmanager")
        create_signing_secret(secrets, template, TEST_ENV["SIGNING_KEY_SECRET_ARN"])
        kms = boto3.client("kms")
        os.environ["SIGNING_KMS_KEY_ID"] = create_signing_kms_key(kms, template)
        container.reset()
        api = GatewayApi(local_gateway(template))

        def sign_in(email: str) -> tuple[str, dict[str, Any]]:
            registered = api.call("POST", "/auth/register", body={"email": email, "password": PASSWORD})
            assert registered.status == 201, registered.body
            login = api.call("POST", "/auth/login", body={"email": email, "password": PASSWORD})
            assert login.status == 200, login.body
            return registered.body["user"]["id"], login.body

        ada_id, ada = sign_in("ada@example.com")
        bob_id, bob = sign_in("bob@example.com")
        second = api.call("POST", "/auth/login", body={"email": "ada@example.com", "password": PASSWORD})
        assert second.status == 200, second.body
        logout = api.call(
            "POST",
            "/auth/logout",
            body={"refresh_token": second.body["refresh_token"]},
            token=second.body["access_token"],
        )
        assert logout.status == 204, logout.body
        signing = json.loads(secrets.get_secret_value(SecretId=TEST_ENV["SIGNING_KEY_SECRET_ARN"])["SecretString"])
        access = ada["access_token"]
        current = container.key_registry().read().current
        assert current is not None
        genuine = Genuine(
            access=access,
            refresh=ada["refresh_token"],
            sub=ada_id,
            email="ada@example.com",
            other_access=bob["access_token"],
            other_sub=bob_id,
            other_email="bob@example.com",
            revoked_access=second.body["access_token"],
            revoked_refresh=second.body["refresh_token"],
            kid=current.kid,
            key=signing["key"].encode(),
            issuer=claims_of(access)["iss"],
            audience=claims_of(access)["aud"],
            sign=lambda signing_input: kms_signature(kms, current.key_id, signing_input),
            public_jwk=current.jwk,
        )
        yield api, genuine
        container.reset()
        os.environ.pop("SIGNING_KMS_KEY_ID", None)


@pytest.fixture
def genuine(world: tuple[GatewayApi, Genuine]) -> Genuine:
    return world[1]


@pytest.fixture
def api(world: tuple[GatewayApi, Genuine]) -> GatewayApi:
    return world[0]


def authorize(authorization: str) -> dict[str, Any]:
    """The authorizer's answer for this Authorization header value; a raise fails the test (it would be a 503)."""
    event = load_event("authorizer-token")
    event["authorizationToken"] = authorization
    try:
        return handler_of("authorizer")(event, LambdaContext())
    except Exception as exc:
        pytest.fail(f"the authorizer raised {type(exc).__name__} (API Gateway would answer 503): {exc}")


def effects(answer: dict[str, Any]) -> set[str]:
    return {statement["Effect"] for statement in answer["policyDocument"]["Statement"]}


def test_genuine_token_is_allowed(genuine: Genuine) -> None:
    """The control: the same material, unforged, gets in (so every refusal below is the forgery's doing)."""
    answer = authorize(f"Bearer {genuine.access}")

    assert effects(answer) == {"Allow"}
    assert (answer["context"]["sub"], answer["context"]["role"]) == (genuine.sub, "user")


@pytest.mark.parametrize("case", params([case for case in CASES if case.target == "access"]))
def test_authorizer_refuses_forged_authorization_header(case: Case, genuine: Genuine, api: GatewayApi) -> None:
    authorization = case.build(genuine)
    assert isinstance(authorization, str)

    answer = authorize(authorization)

    if case.expect == ALLOW:  # a spelling RFC 6750 makes valid: the genuine caller, with their current role
        assert effects(answer) == {"Allow"}, case.note
        assert answer["principalId"] == genuine.sub
        assert (answer["context"]["sub"], answer["context"]["role"]) == (genuine.sub, "user")
    else:
        assert effects(answer) == {"Deny"}, f"{case.name}: {answer}"
        assert answer["principalId"] == "anonymous"
        assert case.expect in AUTHORIZER_CODES
        assert answer["context"]["error"] == case.expect, answer["context"]
        message = answer["context"]["message"]
        assert message
        assert '"' not in message
        assert "\\" not in message
    if case.admin:
        admin = api.call("GET", "/admin/users", headers={"Authorization": authorization})
        expected = (403, "insufficient_role") if case.expect == ALLOW else (401, case.expect)
        assert (admin.status, admin.body["error"]) == expected, admin.body


@pytest.mark.parametrize("case", params([case for case in CASES if case.target == "refresh"]))
def test_refresh_function_refuses_forged_refresh_token(case: Case, genuine: Genuine, api: GatewayApi) -> None:
    reply = api.call("POST", "/auth/refresh", body={"refresh_token": case.build(genuine)})

    assert reply.status < 500, reply.body
    assert (reply.status, reply.body["error"]) == (case.status, case.expect), reply.body
    assert "refresh_token" not in reply.body
    if reply.status == 401:
        # Behind API Gateway, a Lambda proxy answer's challenge is renamed (CONTRACT.md, Errors).
        assert (reply.header("x-amzn-Remapped-WWW-Authenticate") or "").startswith("Bearer ")

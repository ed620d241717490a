"""Signing-key rotation end to end against moto: the four steps, then what tokens signed before and after do."""

from __future__ import annotations

import uuid

import pytest

from auth_core.errors import DependencyError
from auth_core.key_rotation import RotationError
from tests.conftest import TEST_ENV
from tests.integration.test_login import claims_of
from tests.lambda_events import LambdaContext, handler_of


def rotate(aws) -> str:
    """What Secrets Manager does on a rotation: a new version id, then each step on the function."""
    # moto can't invoke our Lambda from rotate_secret (that needs Docker), so the steps are driven here.
    secret_id, token = TEST_ENV["SIGNING_KEY_SECRET_ARN"], str(uuid.uuid4())
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        event = {"SecretId": secret_id, "ClientRequestToken": token, "Step": step}
        handler_of("rotate_key")(event, LambdaContext())
    from auth_core import container

    container.reset()  # a new cold start (warm functions re-read after KEY_CACHE_SECONDS or on an unknown kid)
    return token


def current_kid(aws) -> str:
    import json

    value = aws["secretsmanager"].get_secret_value(
        SecretId=TEST_ENV["SIGNING_KEY_SECRET_ARN"], VersionStage="AWSCURRENT"
    )
    return json.loads(value["SecretString"])["kid"]


def test_rotation_old_refresh_token_still_rotates_and_access_tokens_are_untouched(api, aws, signed_in):
    before = signed_in()

    rotate(aws)

    assert current_kid(aws) != "k1"
    assert api.call("GET", "/me", token=before["access_token"]).status == 200
    refreshed = api.call("POST", "/auth/refresh", body={"refresh_token": before["refresh_token"]})
    assert refreshed.status == 200
    # Access tokens are ES256, signed in KMS: the HMAC secret's rotation doesn't change their key
    assert claims_of(refreshed.body["access_token"])[0]["kid"] == claims_of(before["access_token"])[0]["kid"]


def test_rotation_twice_refuses_refresh_tokens_tagged_with_the_oldest_key(api, aws, signed_in):
    oldest = signed_in()
    rotate(aws)

    rotate(aws)

    reply = api.call("POST", "/auth/refresh", body={"refresh_token": oldest["refresh_token"]})
    assert (reply.status, reply.body["error"]) == (401, "invalid_token")
    assert api.call("GET", "/me", token=oldest["access_token"]).status == 200  # not keyed by the secret


@pytest.mark.parametrize("step", ["setSecret", "testSecret", "finishSecret", "dropSecret"])
def test_rotation_step_for_unknown_version_or_step_is_refused(aws, step):
    event = {"SecretId": TEST_ENV["SIGNING_KEY_SECRET_ARN"], "ClientRequestToken": str(uuid.uuid4()), "Step": step}

    with pytest.raises(RotationError):
        handler_of("rotate_key")(event, LambdaContext())

    assert current_kid(aws) == "k1"


def test_rotation_pending_value_without_key_fails_test_step(aws):
    secret_id, token = TEST_ENV["SIGNING_KEY_SECRET_ARN"], str(uuid.uuid4())
    aws["secretsmanager"].put_secret_value(
        SecretId=secret_id, ClientRequestToken=token, SecretString='{"kid": "x"}', VersionStages=["AWSPENDING"]
    )

    with pytest.raises(DependencyError):  # an unusable key is refused like an unreadable secret
        handler_of("rotate_key")(
            {"SecretId": secret_id, "ClientRequestToken": token, "Step": "testSecret"}, LambdaContext()
        )

    assert current_kid(aws) == "k1"

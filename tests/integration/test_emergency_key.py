"""`make rotate-key-emergency`: after a leak, a new signing key at once and the old one verifying nothing.

A scheduled rotation keeps the old key as AWSPREVIOUS (tokens signed before it work until they expire); after a leak
that would let whoever holds the key keep minting tokens until the next rotation.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import pytest

from auth_core import container
from auth_core.discovery import JWKS_CACHE_SECONDS
from infra import emergency_key
from tests.conftest import PASSWORD, TEST_ENV
from tests.lambda_events import LambdaContext, handler_of

SECRET = TEST_ENV["SIGNING_KEY_SECRET_ARN"]


def labels(aws: dict[str, Any]) -> dict[str, list[str]]:
    """Each version of the secret that still carries a label, with its labels."""
    stages = aws["secretsmanager"].describe_secret(SecretId=SECRET)["VersionIdsToStages"]
    return {version: sorted(names) for version, names in stages.items() if names}


def kid(aws: dict[str, Any], stage: str) -> str:
    value = aws["secretsmanager"].get_secret_value(SecretId=SECRET, VersionStage=stage)
    return json.loads(value["SecretString"])["kid"]


def scheduled_rotation() -> None:
    """What Secrets Manager's schedule does: the rotation function's four steps on a new version."""
    token = str(uuid.uuid4())
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        handler_of("rotate_key")({"SecretId": SECRET, "ClientRequestToken": token, "Step": step}, LambdaContext())
    container.reset()


def refused_by_authorizer(api: Any, access_token: str) -> bool:
    reply = api.call("GET", "/me", token=access_token)
    return (reply.status, reply.body["error"]) == (401, "invalid_token")


def test_emergency_key_replacement_old_tokens_refused_new_login_works(api, aws, stack, signed_in, capsys):
    # Given a session signed with the current key, which has leaked
    leaked = signed_in()
    old_kid = kid(aws, "AWSCURRENT")

    # When the operator replaces the key (and the functions next read the secret: a fresh container)
    status = emergency_key.main(["--stack", stack, "--yes"])
    container.reset()

    # Then only the new version carries a label, and nothing signed with the old key is accepted
    assert status == 0
    assert "replaced" in capsys.readouterr().out
    assert list(labels(aws).values()) == [["AWSCURRENT"]]
    assert kid(aws, "AWSCURRENT") != old_kid
    assert refused_by_authorizer(api, leaked["access_token"])
    refreshed = api.call("POST", "/auth/refresh", body={"refresh_token": leaked["refresh_token"]})
    assert (refreshed.status, refreshed.body["error"]) == (401, "invalid_token")
    # And a new login works, its tokens signed with the new key
    login = api.call("POST", "/auth/login", body={"email": "ada@example.com", "password": PASSWORD})
    assert login.status == 200
    assert api.call("GET", "/me", token=login.body["access_token"]).status == 200
    again = api.call("POST", "/auth/refresh", body={"refresh_token": login.body["refresh_token"]})
    assert again.status == 200


def test_emergency_key_replacement_after_scheduled_rotation_refuses_both_older_keys(api, aws, stack, signed_in):
    # Given tokens of the key before the last scheduled rotation (AWSPREVIOUS) and of the current one
    oldest = signed_in()
    scheduled_rotation()
    current = signed_in("bob@example.com")
    assert api.call("GET", "/me", token=oldest["access_token"]).status == 200  # AWSPREVIOUS still verifies

    assert emergency_key.main(["--stack", stack, "--yes"]) == 0
    container.reset()

    assert list(labels(aws).values()) == [["AWSCURRENT"]]
    assert refused_by_authorizer(api, oldest["access_token"])
    assert refused_by_authorizer(api, current["access_token"])


def test_emergency_key_replacement_then_scheduled_rotation_works_as_usual(api, aws, stack, signed_in):
    assert emergency_key.main(["--stack", stack, "--yes"]) == 0
    replacement_kid = kid(aws, "AWSCURRENT")
    before = signed_in()

    scheduled_rotation()

    assert kid(aws, "AWSPREVIOUS") == replacement_kid
    assert api.call("GET", "/me", token=before["access_token"]).status == 200


@pytest.mark.parametrize(("on_terminal", "answer"), [(False, "yes"), (True, "no"), (True, "")])
def test_emergency_key_replacement_without_confirmation_changes_nothing(
    api, aws, stack, signed_in, operator_types, capsys, on_terminal, answer
):
    session = signed_in()
    before = labels(aws)
    operator_types(answer, on_terminal=on_terminal)

    status = emergency_key.main(["--stack", stack])
    container.reset()

    assert status == 1
    assert "nothing was changed" in capsys.readouterr().err.lower()
    assert labels(aws) == before
    assert api.call("GET", "/me", token=session["access_token"]).status == 200


def test_emergency_key_replacement_confirmed_on_terminal_replaces_key(
    api, aws, stack, signed_in, operator_types, capsys
):
    session = signed_in()
    operator_types("yes")

    status = emergency_key.main(["--stack", stack])
    container.reset()

    assert status == 0
    out = capsys.readouterr().out
    assert "Every access token signed with the old signing key is refused" in out
    assert "Everything tagged with the old secret stops working" in out
    assert refused_by_authorizer(api, session["access_token"])


def test_emergency_signing_key_replacement_refused_at_once_by_warm_authorizer(api, aws, stack, signed_in, capsys):
    # Given a session whose access token was signed by the current KMS key, and a warm authorizer that verified it
    session = signed_in()
    old_jwks = api.call("GET", "/.well-known/jwks.json").body["keys"]
    [old_key] = container.key_registry().read().keys
    assert api.call("GET", "/me", token=session["access_token"]).status == 200

    # When the operator replaces only the signing key (nothing warm is reset: the same Lambdas keep running)
    status = emergency_key.main(["--stack", stack, "--key", "signing-key", "--yes"])

    # Then the old key is out of the registry, and the warm authorizer refuses its tokens at the very next request
    assert status == 0
    assert "Signing key replaced" in capsys.readouterr().out
    assert refused_by_authorizer(api, session["access_token"])
    [new_key] = container.key_registry().read().keys
    assert new_key.kid != old_key.kid
    state = aws["kms"].describe_key(KeyId=old_key.key_id)["KeyMetadata"]["KeyState"]
    assert state == "PendingDeletion"  # it can't sign again
    # The refresh token (not signed by that key) still works, and its new access token names the new key
    refreshed = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})
    assert refreshed.status == 200
    assert api.call("GET", "/me", token=refreshed.body["access_token"]).status == 200
    header = json.loads(base64.urlsafe_b64decode(refreshed.body["access_token"].split(".")[0] + "=="))
    assert header["kid"] == new_key.kid
    # The JWKS, from the same warm function, publishes only the new key
    assert [key["kid"] for key in api.call("GET", "/.well-known/jwks.json").body["keys"]] == [new_key.kid]
    assert [key["kid"] for key in old_jwks] == [old_key.kid]


def test_emergency_signing_key_replacement_leaves_a_warm_jwks_within_its_cache_bound(
    api, aws, stack, signed_in, monkeypatch
):
    # Given a warm JWKS function that has published the current key, on a clock the test moves
    signed_in()
    monotonic = [time.monotonic()]
    monkeypatch.setattr(container.discovery()._public_keys, "_monotonic", lambda: monotonic[0])
    [old] = [key["kid"] for key in api.call("GET", "/.well-known/jwks.json").body["keys"]]

    # When the operator replaces the signing key, and the next request comes once the function's own cache is over
    assert emergency_key.main(["--stack", stack, "--key", "signing-key", "--yes"]) == 0
    monotonic[0] += JWKS_CACHE_SECONDS + 0.001
    reply = api.call("GET", "/.well-known/jwks.json")

    # Then only the new key is published; what consumers may still hold is the document's public max-age
    [new] = [key["kid"] for key in reply.body["keys"]]
    assert new != old and new == container.key_registry().read().current.kid
    assert reply.headers["Cache-Control"] == ["public, max-age=300"]

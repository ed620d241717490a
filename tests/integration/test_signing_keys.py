"""The access-token signing keys end to end on moto: the JWKS and discovery documents, the scheduled rotation (the
previous key verifies until every token it signed has expired, then it is refused, unpublished and deleted), and KMS
failures (a clean 503, nothing half-written)."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from auth_core import container
from auth_core.es256 import thumbprint
from tests.conftest import PASSWORD, ROLE_ARN, TEST_ENV
from tests.contract import SECURITY_HEADERS
from tests.lambda_events import LambdaContext, handler_of
from tests.signing import resign, segment_json

DAY = 86_400


def kid_of(token: str) -> str:
    return str(segment_json(token.split(".")[0])["kid"])


def me(api: Any, token: str) -> tuple[int, str | None]:
    reply = api.call("GET", "/me", token=token)
    return reply.status, (reply.body or {}).get("error")


@pytest.fixture
def rotation(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The rotation function's settings (as template.yaml gives them) and one clock for the whole service."""
    monkeypatch.setenv("ISSUER_ROLE_ARNS", f"{ROLE_ARN}/login,{ROLE_ARN}/refresh")
    monkeypatch.setenv("ROTATOR_ROLE_ARN", f"{ROLE_ARN}/rotate-signing-key")
    container.reset()
    now = [time.time()]

    def at(seconds_from_now: float) -> None:
        now[0] = time.time() + seconds_from_now
        for obj in (
            container.signing_key_rotator(),
            container.access_verifier(),
            container.public_keys(),
            container.discovery(),
            container.token_service(),
        ):
            monkeypatch.setattr(obj, "_clock", lambda: now[0])

    return at


def run_rotation() -> dict[str, Any]:
    """What the daily schedule does: invoke the rotation function."""
    result: dict[str, Any] = handler_of("rotate_signing_key")({"source": "aws.events"}, LambdaContext())
    return result


# ---------------------------------------------------------------------------------------------------------------
# The public documents


def test_jwks_when_fetched_publishes_the_signing_key_as_a_public_p256_jwk(api: Any, signed_in: Any) -> None:
    session = signed_in()

    reply = api.call("GET", "/.well-known/jwks.json")

    assert reply.status == 200
    [key] = reply.body["keys"]
    assert set(key) == {"kty", "crv", "x", "y", "kid", "alg", "use"}  # no private member ("d") of any kind
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    for coordinate in ("x", "y"):
        assert "=" not in key[coordinate]
        assert len(base64.urlsafe_b64decode(key[coordinate] + "=")) == 32
    assert key["kid"] == thumbprint(key) == kid_of(session["access_token"])
    # Public and cacheable for a few minutes, with every other contract header
    assert reply.header("Cache-Control") == "public, max-age=300"
    for name, value in SECURITY_HEADERS.items():
        if name != "Cache-Control":
            assert reply.header(name) == value, name


def test_openid_configuration_when_fetched_names_issuer_and_jwks(api: Any, signed_in: Any) -> None:
    session = signed_in()

    reply = api.call("GET", "/.well-known/openid-configuration")

    assert reply.status == 200
    document = reply.body
    assert document["issuer"] == segment_json(session["access_token"].split(".")[1])["iss"] == TEST_ENV["TOKEN_ISSUER"]
    assert document["jwks_uri"] == f"{TEST_ENV['TOKEN_ISSUER']}/.well-known/jwks.json"
    assert document["id_token_signing_alg_values_supported"] == ["ES256"]
    assert document["subject_types_supported"] == ["public"]
    assert document["response_types_supported"]
    assert reply.header("Cache-Control") == "public, max-age=300"


def test_public_documents_when_fetched_need_no_token(api: Any, aws: dict[str, Any]) -> None:
    # A fresh deployment nobody signed in to: public, no authorizer, and never a 5xx (the key set is empty).
    for path in ("/.well-known/jwks.json", "/.well-known/openid-configuration"):
        assert api.call("GET", path).status == 200


def test_issuer_when_not_configured_is_the_stage_url_api_gateway_names(
    api: Any, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN_ISSUER", "")
    container.reset()

    document = api.call("GET", "/.well-known/openid-configuration").body

    # The local gateway sends the events API Gateway sends: its api id, region and stage
    assert document["issuer"].startswith("https://")
    assert ".execute-api.us-east-1.amazonaws.com/" in document["issuer"]


# ---------------------------------------------------------------------------------------------------------------
# Rotation


def test_rotation_before_due_changes_nothing(api: Any, signed_in: Any, rotation: Any) -> None:
    session = signed_in()
    rotation(89 * DAY)

    result = run_rotation()

    assert result["published"] == [kid_of(session["access_token"])]


def test_rotation_when_due_new_key_signs_and_old_tokens_verify_until_they_expire(
    api: Any, aws: dict[str, Any], signed_in: Any, rotation: Any
) -> None:
    # Given a session signed by the first key
    session = signed_in()
    first = kid_of(session["access_token"])

    # When the schedule runs 90 days on (the clock of the whole service moved)
    rotation(90 * DAY)
    result = run_rotation()

    # Then a new key is current: the next token names it, and both keys are published
    second = result["current"]
    assert second != first
    assert result["published"] == [second, first]
    fresh = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]}).body["access_token"]
    assert kid_of(fresh) == second
    jwks = [key["kid"] for key in api.call("GET", "/.well-known/jwks.json").body["keys"]]
    assert jwks == [second, first]
    # A token of the first key (re-signed to outlive the move of the clock) still verifies
    old = resign(aws["kms"], session["access_token"], iat=time.time() + 90 * DAY, exp=int(time.time()) + 91 * DAY)
    assert me(api, old) == (200, None)
    assert me(api, fresh) == (200, None)


def test_previous_key_after_verify_until_is_refused_unpublished_and_deleted(
    api: Any, aws: dict[str, Any], signed_in: Any, rotation: Any
) -> None:
    session = signed_in()
    [first] = container.key_registry().read().keys
    rotation(90 * DAY)
    run_rotation()
    [_, demoted] = container.key_registry().read().keys
    assert demoted.verify_until is not None
    lifetime = int(demoted.verify_until - (time.time() + 90 * DAY))
    # every token the old key signed has expired by then: the access-token lifetime, the leeway, a request in flight
    assert 900 < lifetime <= 900 + 5 + 60 + 1
    # a token of the old key that claims to live longer than that
    long_lived = resign(
        aws["kms"], session["access_token"], iat=time.time() + 90 * DAY, exp=int(time.time()) + 99 * DAY
    )

    # When the clock passes verify_until
    rotation(90 * DAY + lifetime + 1)

    # Then the old key is refused even for an unexpired token, and the JWKS no longer publishes it
    assert me(api, long_lived) == (401, "invalid_token")
    jwks = [key["kid"] for key in api.call("GET", "/.well-known/jwks.json").body["keys"]]
    assert first.kid not in jwks
    # And the next scheduled run retires it: out of the registry, its KMS key pending deletion
    result = run_rotation()
    assert first.kid not in result["published"]
    assert aws["kms"].describe_key(KeyId=first.key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_rotation_new_key_policy_lets_only_the_issuers_sign(
    api: Any, aws: dict[str, Any], signed_in: Any, rotation: Any
) -> None:
    import json

    signed_in()
    rotation(90 * DAY)
    run_rotation()
    current = container.key_registry().read().current
    assert current is not None

    policy = json.loads(aws["kms"].get_key_policy(KeyId=current.key_id, PolicyName="default")["Policy"])

    signers = [s for s in policy["Statement"] if "kms:Sign" in s["Action"] or s["Action"] in ("kms:*", "*")]
    assert [s["Principal"]["AWS"] for s in signers] == [[f"{ROLE_ARN}/login", f"{ROLE_ARN}/refresh"]]


# ---------------------------------------------------------------------------------------------------------------
# KMS failing: a clean 503, nothing half-written


def failing_sign(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "KMSInternalException", "Message": "boom"}}, "Sign")

    monkeypatch.setattr(container.kms(), "sign", fail)


def test_login_when_kms_fails_is_503_and_leaves_no_session(
    api: Any, aws: dict[str, Any], signed_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_in()  # a first login registers the key; the second one fails to sign
    sessions_before = aws["dynamodb"].scan(TableName=TEST_ENV["TOKENS_TABLE_NAME"])["Items"]
    failing_sign(monkeypatch)

    reply = api.call("POST", "/auth/login", body={"email": "ada@example.com", "password": PASSWORD})

    assert (reply.status, reply.body["error"]) == (503, "service_unavailable")
    assert "Set-Cookie" not in reply.headers
    items = aws["dynamodb"].scan(TableName=TEST_ENV["TOKENS_TABLE_NAME"])["Items"]
    assert [i["pk"]["S"] for i in items if i["pk"]["S"].startswith("SES#")] == [
        i["pk"]["S"] for i in sessions_before if i["pk"]["S"].startswith("SES#")
    ]
    # The right password: this attempt must not bring a lock closer
    assert not [i for i in items if i["pk"]["S"].startswith("ATTEMPTS#") and int(i.get("failures", {}).get("N", 0))]


def test_refresh_when_kms_fails_is_503_and_leaves_the_session_as_it_was(
    api: Any, aws: dict[str, Any], signed_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = signed_in()
    failing_sign(monkeypatch)

    reply = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})

    assert (reply.status, reply.body["error"]) == (503, "service_unavailable")
    monkeypatch.undo()
    # Nothing was rotated: the same refresh token is still the live one (not a replay, not reuse)
    again = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})
    assert again.status == 200, again.body
    assert me(api, again.body["access_token"]) == (200, None)

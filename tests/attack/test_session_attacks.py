"""Attacks on refresh tokens, sessions and access-token revocation (issue 9, claims 3 and 4). Each one held in the attack review."""

from __future__ import annotations

import base64
import time

import pytest

from auth_core import container


@pytest.fixture
def clock(monkeypatch):
    now = [time.time()]
    monkeypatch.setattr(container.auth_service(), "_clock", lambda: now[0])
    return now


def refresh(api, token):
    return api.call("POST", "/auth/refresh", body={"refresh_token": token})


def test_held_spliced_and_re_encoded_tokens_touch_no_other_session_or_user(api, signed_in):
    ada, bob = signed_in("ada@example.com"), signed_in("bob@example.com")
    a, b = ada["refresh_token"].split("."), bob["refresh_token"].split(".")
    upper = base64.urlsafe_b64encode(b"ADA@example.com").rstrip(b"=").decode()
    forged = [
        ".".join([a[0], b[1], *a[2:]]),  # bob's sid, ada's email/secret/tag
        ".".join([*a[:2], b[2], *a[3:]]),  # ada's sid, bob's email
        ".".join([*a[:2], upper, *a[3:]]),  # a case variant of the email
        ".".join([*a[:4], b[4]]),  # bob's tag
    ]
    for token in forged:
        assert refresh(api, token).status == 401
        assert api.call("POST", "/auth/logout", body={"refresh_token": token}).status == 204
    # neither session was ended (no DoS with made-up tokens) and both still rotate
    assert refresh(api, ada["refresh_token"]).status == 200
    assert refresh(api, bob["refresh_token"]).status == 200
    assert api.call("GET", "/me", token=bob["access_token"]).status == 200


def test_held_grace_replay_after_logout_all_or_disable_gets_nothing(api, signed_in, clock):
    admin = signed_in("root@example.com", role="admin")
    ada = signed_in("ada@example.com")
    first = refresh(api, ada["refresh_token"])
    assert api.call("POST", "/auth/logout-all", token=first.body["access_token"]).status == 204
    clock[0] += 1
    replay = refresh(api, ada["refresh_token"])  # within grace: the rotated-out token
    assert replay.status == 401 and replay.body["error"] == "token_revoked"
    assert refresh(api, first.body["refresh_token"]).status == 401
    bob = signed_in("bob@example.com")
    assert refresh(api, bob["refresh_token"]).status == 200
    api.call(
        "PATCH",
        "/admin/users/{user_id}",
        token=admin["access_token"],
        path_params={"user_id": bob["user_id"]},
        body={"status": "disabled"},
    )
    assert refresh(api, bob["refresh_token"]).status == 401
    assert api.call("GET", "/me", token=bob["access_token"]).status == 401


def test_held_access_token_from_grace_replay_dies_with_the_session(api, signed_in, clock):
    ada = signed_in("ada@example.com")
    successor = refresh(api, ada["refresh_token"]).body
    replay = refresh(api, ada["refresh_token"]).body  # within grace: same successor, a fresh access token
    assert replay["refresh_token"] == successor["refresh_token"]
    assert api.call("POST", "/auth/logout", body={"refresh_token": ada["refresh_token"]}).status == 204  # old token
    for token in (ada["access_token"], successor["access_token"], replay["access_token"]):
        assert api.call("GET", "/me", token=token).status == 401


def test_held_session_cannot_be_stretched_past_its_absolute_lifetime(api, signed_in, clock):
    ada = signed_in("ada@example.com")
    token = ada["refresh_token"]
    for _ in range(31):
        clock[0] += 86_400 - 1
        reply = refresh(api, token)
        if reply.status != 200:
            break
        token = reply.body["refresh_token"]
        assert reply.body["refresh_expires_in"] <= 30 * 86_400
    assert reply.status == 401 and reply.body["error"] == "token_expired"


def test_held_emergency_key_kills_refresh_and_device_credentials(api, signed_in, aws):
    from auth_core.key_rotation import KeyRotator
    from tests.conftest import TEST_ENV

    ada = signed_in("ada@example.com")
    KeyRotator(aws["secretsmanager"]).replace_now(secret_id=TEST_ENV["SIGNING_KEY_SECRET_ARN"])
    container.reset()
    assert refresh(api, ada["refresh_token"]).status == 401
    # The access token is ES256, signed in KMS, not keyed by the secret: it lives out its 15 minutes (the signing
    # key has an emergency replacement of its own: tests/integration/test_emergency_key.py)
    assert api.call("GET", "/me", token=ada["access_token"]).status == 200

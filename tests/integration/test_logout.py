"""POST /auth/logout and POST /auth/logout-all."""

from __future__ import annotations

import time

import pytest

from auth_core import container
from tests.conftest import ROLE_ARN


def test_logout_revokes_refresh_denylists_access_and_clears_cookie(api, signed_in):
    session = signed_in()

    reply = api.call(
        "POST",
        "/auth/logout",
        token=session["access_token"],
        headers={"Cookie": f"refresh_token={session['refresh_token']}"},
    )

    assert reply.status == 204
    assert reply.raw_body == ""
    [cookie] = reply.cookies
    assert cookie.startswith("refresh_token=;") and "Max-Age=0" in cookie and "Path=/auth" in cookie
    me = api.call("GET", "/me", token=session["access_token"])
    assert (me.status, me.body["error"]) == (401, "token_revoked")
    again = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})
    assert again.body["error"] == "token_revoked"


def test_logout_twice_answers_204_both_times(api, signed_in):
    session = signed_in()
    call = {"body": {"refresh_token": session["refresh_token"]}, "token": session["access_token"]}

    assert api.call("POST", "/auth/logout", **call).status == 204
    assert api.call("POST", "/auth/logout", **call).status == 204


def test_logout_with_nothing_answers_204(api):
    assert api.call("POST", "/auth/logout").status == 204


def test_logout_one_session_leaves_other_sessions_alive(api, signed_in):
    from tests.conftest import PASSWORD

    first = signed_in()
    second = api.call("POST", "/auth/login", body={"email": "ada@example.com", "password": PASSWORD}).body

    api.call("POST", "/auth/logout", body={"refresh_token": first["refresh_token"]}, token=first["access_token"])

    assert api.call("GET", "/me", token=second["access_token"]).status == 200
    assert api.call("POST", "/auth/refresh", body={"refresh_token": second["refresh_token"]}).status == 200


def test_logout_malformed_refresh_token_answers_400_invalid_request(api):
    reply = api.call("POST", "/auth/logout", body={"refresh_token": "garbage"})

    assert (reply.status, reply.body["error"]) == (400, "invalid_request")


def test_logout_by_a_warm_function_after_a_scheduled_rotation_still_ends_the_bearer_tokens_session(
    api, signed_in, monkeypatch
):
    """The registry changed since the function read it, and still trusts the key (now `previous`): logout reads it
    again and ends the session all the same (an emergency rotation: tests/attack/test_token_attacks.py)."""
    monkeypatch.setenv("ISSUER_ROLE_ARNS", f"{ROLE_ARN}/login,{ROLE_ARN}/refresh")
    monkeypatch.setenv("ROTATOR_ROLE_ARN", f"{ROLE_ARN}/rotate-signing-key")
    container.reset()
    session = signed_in()
    warm = container.public_keys().key_set()  # the logout function read the registry before the rotation
    rotator = container.signing_key_rotator()
    monkeypatch.setattr(rotator, "_clock", lambda: time.time() + 90 * 86_400)  # the key is due
    rotated = rotator.run()
    assert rotated.current != warm.current and rotated.find(warm.current.kid).status == "previous"

    assert api.call("POST", "/auth/logout", token=session["access_token"]).status == 204  # the bearer token only

    assert api.call("GET", "/me", token=session["access_token"]).body["error"] == "token_revoked"
    refreshed = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})
    assert refreshed.body["error"] == "token_revoked"


def test_logout_all_ends_every_session_and_a_new_login_works(api, signed_in):
    from tests.conftest import PASSWORD

    first = signed_in()
    second = api.call("POST", "/auth/login", body={"email": "ada@example.com", "password": PASSWORD}).body

    reply = api.call("POST", "/auth/logout-all", token=first["access_token"])

    assert reply.status == 204
    assert "Max-Age=0" in reply.cookies[0]
    for session in (first, second):
        assert api.call("GET", "/me", token=session["access_token"]).body["error"] == "token_revoked"
        refreshed = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})
        assert refreshed.body["error"] == "token_revoked"
    fresh = api.call("POST", "/auth/login", body={"email": "ada@example.com", "password": PASSWORD}).body
    assert api.call("GET", "/me", token=fresh["access_token"]).status == 200


@pytest.mark.parametrize("header", [None, "Bearer not.a.jwt", "Basic YWRhOnB3"])
def test_logout_all_without_valid_bearer_is_refused_by_authorizer(api, header):
    reply = api.call("POST", "/auth/logout-all", headers={"Authorization": header})

    assert reply.status == 401
    assert reply.body["error"] in ("missing_token", "invalid_token")

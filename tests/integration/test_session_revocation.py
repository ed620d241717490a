"""Ending a session ends its access tokens too, and sign-out-everywhere misses nothing (issue 9, points 6 and 7;
CONTRACT.md "Tokens and sessions"). Each test performs the attack through the handlers and the authorizer."""

from __future__ import annotations

import time

import pytest

from auth_core import container
from tests.conftest import PASSWORD, TEST_ENV


def me(api, access_token: str):
    return api.call("GET", "/me", token=access_token)


@pytest.fixture
def clock(monkeypatch):
    """One clock for the whole service: the auth service and the token service read it."""
    now = [time.time()]
    monkeypatch.setattr(container.auth_service(), "_clock", lambda: now[0])
    monkeypatch.setattr(container.token_service(), "_clock", lambda: now[0])
    return now


def test_logout_with_only_the_refresh_token_ends_the_sessions_access_tokens(api, signed_in):
    session = signed_in()

    assert api.call("POST", "/auth/logout", body={"refresh_token": session["refresh_token"]}).status == 204

    reply = me(api, session["access_token"])
    assert (reply.status, reply.body["error"]) == (401, "token_revoked")


def test_logout_with_only_the_access_token_ends_the_session(api, signed_in):
    session = signed_in()

    assert api.call("POST", "/auth/logout", token=session["access_token"]).status == 204

    refreshed = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})
    assert (refreshed.status, refreshed.body["error"]) == (401, "token_revoked")


def test_reuse_detection_ends_the_sessions_access_tokens(api, signed_in, clock):
    session = signed_in()
    rotated = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]}).body
    clock[0] += 30

    reuse = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})

    assert reuse.body["error"] == "token_revoked"
    for access_token in (session["access_token"], rotated["access_token"]):
        assert me(api, access_token).body["error"] == "token_revoked"


def test_ending_one_session_leaves_the_users_other_sessions_alive(api, signed_in):
    first = signed_in()
    second = api.call("POST", "/auth/login", body={"email": "ada@example.com", "password": PASSWORD}).body

    api.call("POST", "/auth/logout", body={"refresh_token": first["refresh_token"]})

    assert me(api, second["access_token"]).status == 200
    assert me(api, first["access_token"]).status == 401


def test_logout_all_refuses_a_token_issued_in_the_same_millisecond(api, signed_in, clock):
    """A session begun in the same millisecond as a logout-all is refused with its tokens (`<=`, not `<`)."""
    clock[0] = round(clock[0], 3)
    session = signed_in()  # issued at exactly clock[0]

    assert api.call("POST", "/auth/logout-all", token=session["access_token"]).status == 204  # same instant

    assert me(api, session["access_token"]).body["error"] == "token_revoked"


def test_login_one_millisecond_after_logout_all_in_the_same_second_is_accepted(api, signed_in, clock):
    """`iat` is whole seconds (what other verifiers expect), so revocation can't rest on it: a token issued later in
    the same second as a logout-all must still work, and one issued before it must not."""
    clock[0] = float(int(clock[0])) + 0.25
    before = signed_in()
    assert api.call("POST", "/auth/logout-all", token=before["access_token"]).status == 204
    clock[0] += 0.001

    after = api.call("POST", "/auth/login", body={"email": before["email"], "password": PASSWORD}).body

    assert me(api, after["access_token"]).status == 200
    assert me(api, before["access_token"]).body["error"] == "token_revoked"


def test_logout_all_landing_while_a_refresh_is_in_flight_wins(api, aws, signed_in, monkeypatch):
    """The refresh reads the session before logout-all and writes after it: its new tokens must not outlive it."""
    session = signed_in()
    repository = container.sessions_repository()
    real_rotate = repository.rotate

    def logout_all_lands_first(*args, **kwargs):
        container.auth_service().logout_all(user_id=session["user_id"], email=session["email"])
        return real_rotate(*args, **kwargs)

    monkeypatch.setattr(repository, "rotate", logout_all_lands_first)

    reply = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})

    assert (reply.status, reply.body["error"]) == (401, "token_revoked")
    monkeypatch.undo()
    again = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})
    assert again.body["error"] == "token_revoked"


def test_disable_landing_while_a_refresh_is_in_flight_wins(api, signed_in, monkeypatch):
    admin, user = signed_in("root@example.com", role="admin"), signed_in("bob@example.com")
    repository = container.sessions_repository()
    real_rotate = repository.rotate

    def disable_lands_first(*args, **kwargs):
        container.admin_service().update_user(
            actor_id=admin["user_id"], user_id=user["user_id"], role=None, status="disabled"
        )
        return real_rotate(*args, **kwargs)

    monkeypatch.setattr(repository, "rotate", disable_lands_first)

    reply = api.call("POST", "/auth/refresh", body={"refresh_token": user["refresh_token"]})

    assert (reply.status, reply.body["error"]) == (401, "token_revoked")


def test_refresh_after_logout_all_in_the_same_millisecond_refused(api, signed_in, clock):
    clock[0] = round(clock[0], 3)
    session = signed_in()
    assert api.call("POST", "/auth/logout-all", token=session["access_token"]).status == 204

    reply = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})

    assert reply.body["error"] == "token_revoked"


def test_logged_out_access_token_stays_denylisted_past_exp_plus_leeway(api, aws, signed_in):
    session = signed_in()
    api.call("POST", "/auth/logout", body={"refresh_token": session["refresh_token"]}, token=session["access_token"])

    items = aws["dynamodb"].scan(TableName=TEST_ENV["TOKENS_TABLE_NAME"])["Items"]
    [denied] = [item for item in items if item["pk"]["S"].startswith("JTI#")]
    exp = container.token_service().verify_access(session["access_token"]).exp
    leeway = container.token_service().leeway
    assert int(denied["expires_at"]["N"]) > exp + leeway  # DynamoDB may delete it only once nothing accepts it


def test_access_token_naming_another_users_session_refused(api, aws, signed_in):
    """A token whose sid is someone else's live session (minted with the real key) is still refused."""
    import jwt

    from tests.signing import resign

    ada, bob = signed_in("ada@example.com"), signed_in("bob@example.com")
    bob_sid = jwt.decode(bob["access_token"], options={"verify_signature": False})["sid"]
    forged = resign(aws["kms"], ada["access_token"], sid=bob_sid)

    assert me(api, forged).body["error"] == "token_revoked"

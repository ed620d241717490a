"""POST /auth/refresh: rotation, reuse detection, the grace window, concurrency."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import TEST_ENV


def refresh(api, token: str, *, cookie: bool = False):
    if cookie:
        return api.call("POST", "/auth/refresh", headers={"Cookie": f"theme=dark; refresh_token={token}"})
    return api.call("POST", "/auth/refresh", body={"refresh_token": token})


def families(aws) -> dict[str, str]:
    items = aws["dynamodb"].scan(TableName=TEST_ENV["TOKENS_TABLE_NAME"])["Items"]
    return {item["pk"]["S"]: item["status"]["S"] for item in items if item["pk"]["S"].startswith("FAM#")}


@pytest.fixture
def no_grace(monkeypatch):
    """Reuse right after rotation counts as reuse (as it does once the grace window has passed)."""
    from auth_core import container

    monkeypatch.setenv("REFRESH_REUSE_GRACE_SECONDS", "0")
    container.reset()
    yield
    monkeypatch.delenv("REFRESH_REUSE_GRACE_SECONDS")
    container.reset()


@pytest.mark.parametrize("by_cookie", [False, True], ids=["body", "cookie"])
def test_refresh_valid_token_rotates_it_and_returns_new_pair(api, signed_in, by_cookie):
    session = signed_in()

    reply = refresh(api, session["refresh_token"], cookie=by_cookie)

    assert reply.status == 200
    assert reply.body["refresh_token"] != session["refresh_token"]
    assert reply.body["access_token"] != session["access_token"]
    assert reply.cookies[0].startswith(f"refresh_token={reply.body['refresh_token']};")
    assert api.call("GET", "/me", token=reply.body["access_token"]).status == 200
    assert refresh(api, reply.body["refresh_token"]).status == 200


def test_refresh_stores_only_hashes_of_tokens(api, aws, signed_in):
    session = signed_in()
    rotated = refresh(api, session["refresh_token"]).body

    dump = str(aws["dynamodb"].scan(TableName=TEST_ENV["TOKENS_TABLE_NAME"])["Items"])

    for token in (session["refresh_token"], rotated["refresh_token"]):
        assert token not in dump
        assert token.split(".")[2] not in dump


def test_refresh_rotated_out_token_after_grace_revokes_whole_family(api, aws, signed_in, no_grace):
    session = signed_in()
    successor = refresh(api, session["refresh_token"]).body

    reuse = refresh(api, session["refresh_token"])

    assert reuse.status == 401
    assert reuse.body["error"] == "token_revoked"
    assert reuse.header("x-amzn-Remapped-WWW-Authenticate").startswith("Bearer")  # renamed by API Gateway
    # The legitimate holder's newer token dies with the family: the thief and the user both sign in again.
    assert refresh(api, successor["refresh_token"]).body["error"] == "token_revoked"
    assert list(families(aws).values()) == ["revoked"]


def test_refresh_rotated_out_token_within_grace_keeps_both_tabs_signed_in(api, aws, signed_in):
    session = signed_in()
    first_tab = refresh(api, session["refresh_token"])

    second_tab = refresh(api, session["refresh_token"])

    assert (first_tab.status, second_tab.status) == (200, 200)
    assert refresh(api, first_tab.body["refresh_token"]).status == 200
    assert refresh(api, second_tab.body["refresh_token"]).status == 200
    assert list(families(aws).values()) == ["active"]


def test_refresh_concurrent_use_of_one_token_continues_at_most_one_family(api, aws, signed_in, monkeypatch):
    from auth_core import container

    session = signed_in()
    # moto's in-process backend is not thread-safe; DynamoDB makes each API call atomic, so do the same here. Calls of
    # different requests still interleave freely between one another (read, then transact), which is the race tested.
    client, lock = container.dynamodb(), threading.Lock()
    real_call = client._make_api_call

    def atomic_call(*args, **kwargs):
        with lock:
            return real_call(*args, **kwargs)

    monkeypatch.setattr(client, "_make_api_call", atomic_call)
    replies = []
    barrier = threading.Barrier(4)

    def worker():
        barrier.wait()
        replies.append(refresh(api, session["refresh_token"]))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(reply.status in (200, 401) for reply in replies)
    assert any(reply.status == 200 for reply in replies)
    assert len([status for status in families(aws).values() if status == "active"]) <= 1
    assert len(families(aws)) == 1


def test_refresh_logout_then_refresh_answers_token_revoked(api, signed_in):
    session = signed_in()
    assert api.call("POST", "/auth/logout", body={"refresh_token": session["refresh_token"]}).status == 204

    reply = refresh(api, session["refresh_token"])

    assert (reply.status, reply.body["error"]) == (401, "token_revoked")


def test_refresh_after_logout_all_answers_token_revoked(api, signed_in):
    session = signed_in()
    assert api.call("POST", "/auth/logout-all", token=session["access_token"]).status == 204

    assert refresh(api, session["refresh_token"]).body["error"] == "token_revoked"


def test_refresh_access_token_as_refresh_token_answers_invalid_token(api, signed_in):
    session = signed_in()

    reply = refresh(api, session["access_token"])

    assert (reply.status, reply.body["error"]) == (401, "invalid_token")


@pytest.mark.parametrize("token", ["not-a-token", "a.b", "ü.ü.ü", "x" * 5000])
def test_refresh_malformed_token_answers_400_invalid_request(api, token):
    for by_cookie in (False, True):
        reply = refresh(api, token, cookie=by_cookie)
        assert (reply.status, reply.body["error"]) == (400, "invalid_request")


def test_refresh_without_any_token_answers_400_invalid_request(api):
    reply = api.call("POST", "/auth/refresh")

    assert (reply.status, reply.body["error"]) == (400, "invalid_request")


def test_refresh_two_different_cookies_answers_400_invalid_request(api, signed_in):
    first, second = signed_in("ada@example.com"), signed_in("bob@example.com")
    cookie = f"refresh_token={first['refresh_token']}; refresh_token={second['refresh_token']}"

    reply = api.call("POST", "/auth/refresh", headers={"Cookie": cookie})

    assert (reply.status, reply.body["error"]) == (400, "invalid_request")


def test_refresh_expired_token_answers_token_expired(api, signed_in, monkeypatch):
    from auth_core import container

    session = signed_in()
    tokens = container.token_service()
    monkeypatch.setattr(tokens, "_clock", lambda: time.time() + 8 * 24 * 3600)

    reply = refresh(api, session["refresh_token"])

    assert (reply.status, reply.body["error"]) == (401, "token_expired")
    assert "expired" in reply.body["message"]


def test_refresh_disabled_user_answers_token_revoked(api, signed_in):
    from auth_core import container

    admin, user = signed_in("root@example.com", role="admin"), signed_in("bob@example.com")
    container.admin_service().update_user(
        actor_id=admin["user_id"], user_id=user["user_id"], role=None, status="disabled"
    )

    assert refresh(api, user["refresh_token"]).body["error"] == "token_revoked"


def test_refresh_after_demotion_issues_access_token_with_current_role(api, signed_in):
    from auth_core import container
    from tests.integration.test_login import claims_of

    admin, other = signed_in("root@example.com", role="admin"), signed_in("bob@example.com")
    container.admin_service().update_user(
        actor_id=admin["user_id"], user_id=other["user_id"], role="admin", status=None
    )

    reply = refresh(api, other["refresh_token"])

    assert claims_of(reply.body["access_token"])[1]["role"] == "admin"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "https://evil.example"}, 400),
        ({"Origin": "null"}, 400),
        ({"Origin": "https://app.example.com", "Sec-Fetch-Site": "cross-site"}, 400),
        ({"Origin": "https://app.example.com", "Sec-Fetch-Site": "same-site"}, 200),
        ({"Origin": None}, 200),
    ],
)
def test_refresh_by_cookie_from_other_origin_is_refused(api, signed_in, headers, status):
    session = signed_in()

    reply = api.call(
        "POST", "/auth/refresh", headers={"Cookie": f"refresh_token={session['refresh_token']}", **headers}
    )

    assert reply.status == status
    if status == 400:
        assert reply.body["error"] == "invalid_request"
        # The refused request spent nothing: the token still works from the right origin.
        assert refresh(api, session["refresh_token"]).status == 200


def test_logout_by_cookie_from_other_origin_is_refused_and_session_survives(api, signed_in):
    session = signed_in()

    reply = api.call(
        "POST",
        "/auth/logout",
        headers={"Cookie": f"refresh_token={session['refresh_token']}", "Origin": "https://evil.example"},
    )

    assert (reply.status, reply.body["error"]) == (400, "invalid_request")
    assert refresh(api, session["refresh_token"]).status == 200

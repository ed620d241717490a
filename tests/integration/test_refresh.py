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


def sessions(aws) -> dict[str, dict]:
    items = aws["dynamodb"].scan(TableName=TEST_ENV["TOKENS_TABLE_NAME"])["Items"]
    return {item["pk"]["S"]: item for item in items if item["pk"]["S"].startswith("SES#")}


def statuses(aws) -> list[str]:
    return [item["status"]["S"] for item in sessions(aws).values()]


@pytest.fixture
def clock(monkeypatch):
    """The auth service's clock, moved by hand (a grace window, a week, a month)."""
    from auth_core import container

    now = [time.time()]
    monkeypatch.setattr(container.auth_service(), "_clock", lambda: now[0])
    return now


def parallel_refreshes(token: str, count: int) -> list[str]:
    """`count` refreshes of one token at once, each on its own thread, as that many Lambdas would run them (the
    service itself: one Python process runs one handler at a time). The refresh tokens they were given."""
    from auth_core import container

    barrier = threading.Barrier(count, timeout=60)
    returned: list[str] = []

    def one() -> None:
        barrier.wait()
        returned.append(container.auth_service().refresh(refresh_token=token).refresh_token)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return returned


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


def test_refresh_token_is_opaque_and_stores_only_hashes(api, aws, signed_in):
    session = signed_in()
    rotated = refresh(api, session["refresh_token"]).body

    dump = str(aws["dynamodb"].scan(TableName=TEST_ENV["TOKENS_TABLE_NAME"])["Items"])

    for token in (session["refresh_token"], rotated["refresh_token"]):
        assert token.count(".") == 4 and token.startswith("rt1.")  # not a JWT: never taken for an access token
        assert token not in dump
        assert token.split(".")[3] not in dump  # the secret part
        assert token.split(".")[4] not in dump  # the tag


def test_refresh_rotated_out_token_after_grace_ends_the_session(api, aws, signed_in, clock):
    session = signed_in()
    successor = refresh(api, session["refresh_token"]).body
    clock[0] += 11  # past the 10-second grace window

    reuse = refresh(api, session["refresh_token"])

    assert reuse.status == 401
    assert reuse.body["error"] == "token_revoked"
    assert reuse.header("x-amzn-Remapped-WWW-Authenticate").startswith("Bearer")  # renamed by API Gateway
    # The legitimate holder's newer token dies with the session: the thief and the user both sign in again.
    assert refresh(api, successor["refresh_token"]).body["error"] == "token_revoked"
    assert api.call("GET", "/me", token=successor["access_token"]).body["error"] == "token_revoked"
    assert statuses(aws) == ["revoked"]


def test_refresh_rotated_out_token_within_grace_gets_the_same_successor(api, aws, signed_in, clock):
    session = signed_in()
    first_tab = refresh(api, session["refresh_token"])
    clock[0] += 9

    second_tab = refresh(api, session["refresh_token"])

    assert (first_tab.status, second_tab.status) == (200, 200)
    # Never a second token beside the first: both tabs hold the session's one live token.
    assert second_tab.body["refresh_token"] == first_tab.body["refresh_token"]
    assert second_tab.cookies[0].startswith(f"refresh_token={first_tab.body['refresh_token']};")
    assert second_tab.body["access_token"] != first_tab.body["access_token"]  # a fresh access token all the same
    assert refresh(api, first_tab.body["refresh_token"]).status == 200
    assert statuses(aws) == ["active"]


def test_refresh_victim_then_thief_within_grace_share_one_line_and_the_later_copy_ends_it(api, aws, signed_in, clock):
    stolen = signed_in()["refresh_token"]
    victim = refresh(api, stolen).body  # the victim refreshes; the thief replays the copy 5 s later
    clock[0] += 5
    thief = refresh(api, stolen).body
    assert thief["refresh_token"] == victim["refresh_token"]  # no parallel session for the thief

    thief_next = refresh(api, thief["refresh_token"])  # whoever refreshes first continues...
    clock[0] += 60
    victim_next = refresh(api, victim["refresh_token"])  # ...and the other copy, a minute later, is reuse

    assert thief_next.status == 200
    assert (victim_next.status, victim_next.body["error"]) == (401, "token_revoked")
    assert refresh(api, thief_next.body["refresh_token"]).body["error"] == "token_revoked"
    assert api.call("GET", "/me", token=thief_next.body["access_token"]).body["error"] == "token_revoked"
    assert statuses(aws) == ["revoked"]


def test_refresh_thief_then_victim_after_grace_ends_the_thiefs_session(api, aws, signed_in, clock):
    stolen = signed_in()["refresh_token"]
    thief = refresh(api, stolen).body  # the thief refreshes first with the stolen copy
    clock[0] += 30

    victim = refresh(api, stolen)  # the victim's own (now rotated-out) token, after the grace window

    assert (victim.status, victim.body["error"]) == (401, "token_revoked")
    assert refresh(api, thief["refresh_token"]).body["error"] == "token_revoked"
    assert api.call("GET", "/me", token=thief["access_token"]).body["error"] == "token_revoked"


def test_refresh_eight_parallel_refreshes_leave_one_line_and_the_next_replay_ends_it(
    api, aws, signed_in, clock, atomic_dynamodb
):
    token = signed_in()["refresh_token"]

    returned = parallel_refreshes(token, 8)

    assert len(returned) == 8
    assert len(set(returned)) == 1  # eight answers, one live token
    # Presented one by one, more than a grace window apart: the first continues, the next ends the session.
    clock[0] += 11
    assert refresh(api, returned[0]).status == 200
    clock[0] += 11
    second = refresh(api, returned[1])
    assert (second.status, second.body["error"]) == (401, "token_revoked")
    assert statuses(aws) == ["revoked"]


def test_refresh_concurrent_reads_before_any_write_still_one_live_token(
    api, aws, signed_in, monkeypatch, atomic_dynamodb
):
    """Four refreshes forced to interleave as four Lambdas would: all read the session, then all write."""
    from auth_core import container

    token = signed_in()["refresh_token"]
    repository = container.sessions_repository()
    real_read = repository.refresh_state
    barrier = threading.Barrier(4, timeout=60)
    reads = []

    def read_then_wait(**kwargs):
        state = real_read(**kwargs)
        reads.append(state)
        if len(reads) <= 4:
            barrier.wait()  # nobody writes before everybody has read
        return state

    monkeypatch.setattr(repository, "refresh_state", read_then_wait)

    returned = parallel_refreshes(token, 4)

    assert len(returned) == 4
    assert len(set(returned)) == 1
    assert statuses(aws) == ["active"]


def test_refresh_session_ends_at_its_absolute_lifetime_however_active(api, aws, signed_in, clock):
    token, login_at = signed_in()["refresh_token"], clock[0]
    for _ in range(4):  # refreshed every week: the idle lifetime alone would never end it
        clock[0] += 7 * 24 * 3600 - 60
        reply = refresh(api, token)
        assert reply.status == 200
        left = 30 * 24 * 3600 - (clock[0] - login_at)
        assert abs(reply.body["refresh_expires_in"] - min(7 * 24 * 3600, left)) <= 1
        token = reply.body["refresh_token"]
    clock[0] += 3 * 24 * 3600  # 31 days after the login

    reply = refresh(api, token)

    assert (reply.status, reply.body["error"]) == (401, "token_expired")
    assert "maximum lifetime" in reply.body["message"]


def test_refresh_absolute_lifetime_is_a_setting(api, signed_in, clock, monkeypatch):
    from auth_core import container

    monkeypatch.setenv("SESSION_MAX_LIFETIME_SECONDS", "7200")
    container.reset()
    monkeypatch.setattr(container.auth_service(), "_clock", lambda: clock[0])
    session = signed_in()
    assert session["refresh_expires_in"] == 7200
    clock[0] += 7201

    reply = refresh(api, session["refresh_token"])

    assert (reply.status, reply.body["error"]) == (401, "token_expired")


def test_refresh_unused_for_longer_than_the_refresh_lifetime_answers_token_expired(api, signed_in, clock):
    session = signed_in()
    clock[0] += 7 * 24 * 3600 + 1

    reply = refresh(api, session["refresh_token"])

    assert (reply.status, reply.body["error"]) == (401, "token_expired")
    assert "expired" in reply.body["message"]


def test_refresh_logout_then_refresh_answers_token_revoked(api, signed_in):
    session = signed_in()
    assert api.call("POST", "/auth/logout", body={"refresh_token": session["refresh_token"]}).status == 204

    reply = refresh(api, session["refresh_token"])

    assert (reply.status, reply.body["error"]) == (401, "token_revoked")


def test_refresh_after_logout_all_answers_token_revoked(api, signed_in):
    session = signed_in()
    assert api.call("POST", "/auth/logout-all", token=session["access_token"]).status == 204

    assert refresh(api, session["refresh_token"]).body["error"] == "token_revoked"


def test_refresh_access_token_as_refresh_token_answers_invalid_request(api, signed_in):
    session = signed_in()

    reply = refresh(api, session["access_token"])

    assert (reply.status, reply.body["error"]) == (400, "invalid_request")


@pytest.mark.parametrize("token", ["not-a-token", "a.b", "ü.ü.ü", "x" * 5000])
def test_refresh_malformed_token_answers_400_invalid_request(api, token):
    for by_cookie in (False, True):
        reply = refresh(api, token, cookie=by_cookie)
        assert (reply.status, reply.body["error"]) == (400, "invalid_request")


def test_refresh_without_any_token_answers_401_missing_token(api):
    reply = api.call("POST", "/auth/refresh")

    assert (reply.status, reply.body["error"]) == (401, "missing_token")


@pytest.mark.parametrize("route", ["/auth/refresh", "/auth/logout"])
def test_body_token_and_a_different_cookie_answer_401_invalid_token(api, signed_in, route):
    ada, bob = signed_in("ada@example.com"), signed_in("bob@example.com")

    reply = api.call(
        "POST",
        route,
        body={"refresh_token": ada["refresh_token"]},
        headers={"Cookie": f"refresh_token={bob['refresh_token']}"},
    )

    assert (reply.status, reply.body["error"]) == (401, "invalid_token")
    assert refresh(api, bob["refresh_token"]).status == 200  # neither session was touched
    assert refresh(api, ada["refresh_token"]).status == 200


def test_refresh_two_different_cookies_answers_400_invalid_request(api, signed_in):
    first, second = signed_in("ada@example.com"), signed_in("bob@example.com")
    cookie = f"refresh_token={first['refresh_token']}; refresh_token={second['refresh_token']}"

    reply = api.call("POST", "/auth/refresh", headers={"Cookie": cookie})

    assert (reply.status, reply.body["error"]) == (400, "invalid_request")


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

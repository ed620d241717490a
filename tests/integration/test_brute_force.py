"""Per-account throttling of failed logins: 429 too_many_attempts with Retry-After, temporary, reset by success."""

from __future__ import annotations

import time

import pytest

from auth_core import throttle
from tests.conftest import PASSWORD, TEST_ENV

WRONG = {"email": "ada@example.com", "password": "wrong password 123"}
RIGHT = {"email": "ada@example.com", "password": PASSWORD}


@pytest.fixture
def clock(monkeypatch):
    """The services' clock, moved by hand."""
    from auth_core import container

    now = [time.time()]
    monkeypatch.setattr(container.auth_service(), "_clock", lambda: now[0])
    return now


@pytest.fixture
def ada(api):
    assert api.call("POST", "/auth/register", body=RIGHT).status == 201


def fail(api, times: int, body: dict | None = None) -> list[int]:
    return [api.call("POST", "/auth/login", body=body or WRONG).status for _ in range(times)]


def test_login_five_failures_then_locks_with_retry_after(api, ada, clock):
    assert fail(api, 5) == [401] * 5  # the fifth failure starts a 30-second lock

    reply = api.call("POST", "/auth/login", body=RIGHT)

    assert reply.status == 429
    assert reply.body == {"error": "too_many_attempts", "message": "Too many failed sign-in attempts. Try again later."}
    assert reply.header("Retry-After") == "30"
    assert reply.cookies == []


def test_login_lock_doubles_with_each_further_failure_up_to_15_minutes(api, ada, clock):
    failures, locks = 0, []
    while len(locks) < 7:
        reply = api.call("POST", "/auth/login", body=WRONG)
        if reply.status == 429:  # wait the lock out, as a patient attacker would
            locks.append(int(reply.header("Retry-After")))
            clock[0] += locks[-1]
        else:
            failures += 1

    assert failures == 11  # five free failures, then one per lock
    assert locks == [30, 60, 120, 240, 480, 900, 900]


def test_login_after_lock_expires_right_password_signs_in_and_resets_count(api, ada, clock):
    fail(api, 5)
    clock[0] += 31

    assert api.call("POST", "/auth/login", body=RIGHT).status == 200

    assert fail(api, 4) == [401] * 4  # the count started again from zero
    assert api.call("POST", "/auth/login", body=RIGHT).status == 200


def test_login_failures_older_than_a_day_are_forgotten(api, ada, clock):
    fail(api, 4)
    clock[0] += throttle.FORGET_AFTER + 1

    fail(api, 4)

    assert api.call("POST", "/auth/login", body=RIGHT).status == 200


def test_login_unknown_email_is_throttled_like_a_known_one(api, clock):
    body = {"email": "nobody@example.com", "password": "wrong password 123"}

    statuses = fail(api, 6, body)

    assert statuses == [401] * 5 + [429]


def test_login_throttle_of_one_account_leaves_others_alone(api, ada, signed_in, clock):
    fail(api, 6)

    assert signed_in("bob@example.com")["access_token"]


def test_login_throttle_state_holds_no_email_and_expires(api, aws, ada, clock):
    fail(api, 5)

    items = aws["dynamodb"].scan(TableName=TEST_ENV["TOKENS_TABLE_NAME"])["Items"]
    [attempts] = [item for item in items if item["pk"]["S"].startswith("ATTEMPTS#")]
    assert "ada" not in str(attempts)
    assert float(attempts["expires_at"]["N"]) > clock[0]


@pytest.mark.parametrize(("failures", "delay"), [(0, 0), (4, 0), (5, 30), (6, 60), (9, 480), (10, 900), (50, 900)])
def test_delay_after_failures_follows_schedule(failures, delay):
    assert throttle.delay_after(failures) == delay

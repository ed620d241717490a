"""Per-account throttling of failed logins: 429 too_many_attempts with Retry-After, temporary, reset by success."""

from __future__ import annotations

import threading
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


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0), (4, 0), (5, 30), (6, 60), (9, 480), (10, 900), (50, 900), (1_029, 900), (10**6, 900), (10**400, 900)],
)
def test_delay_after_failures_follows_schedule_at_any_count(failures, delay):
    assert throttle.delay_after(failures) == delay


def burst(count: int, body: dict) -> list[int]:
    """`count` logins at once, each on its own thread, as that many Lambdas would run them (the service itself: one
    Python process runs one handler at a time): the status each would answer."""
    from auth_core import container
    from auth_core.errors import ServiceError

    def one() -> None:
        try:
            container.auth_service().login(**body)
            statuses.append(200)
        except ServiceError as error:
            statuses.append(error.status)

    statuses: list[int] = []
    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def attempts_item(aws) -> dict:
    items = aws["dynamodb"].scan(TableName=TEST_ENV["TOKENS_TABLE_NAME"])["Items"]
    [item] = [item for item in items if item["pk"]["S"].startswith("ATTEMPTS#") and "#" not in item["pk"]["S"][9:]]
    return item


@pytest.mark.parametrize("stored_failures", [1_028, 1_000_000])
def test_login_after_a_thousand_failures_still_locks_and_counts_a_bounded_number(api, aws, ada, clock, stored_failures):
    """Issue 9.1: from the 1,029th failure the lock arithmetic overflowed (500, nothing counted, no lock)."""
    fail(api, 5)
    key = attempts_item(aws)["pk"]
    aws["dynamodb"].update_item(  # months of one patient guess per lock period, as stored by an older version
        TableName=TEST_ENV["TOKENS_TABLE_NAME"],
        Key={"pk": key},
        UpdateExpression="SET failures = :n",
        ExpressionAttributeValues={":n": {"N": str(stored_failures)}},
    )
    clock[0] += throttle.MAX_DELAY + 1

    guess = api.call("POST", "/auth/login", body=WRONG)
    right = api.call("POST", "/auth/login", body=RIGHT)

    assert guess.status == 401
    assert (right.status, right.header("Retry-After")) == (429, "900")
    assert int(attempts_item(aws)["failures"]["N"]) == throttle.MAX_COUNTED


def test_login_a_simulated_week_of_patient_guessing_never_errs_and_never_unlocks_early(api, aws, ada, clock):
    """One guess per lock period for a week: always a verdict or a 429, never a 500, never a free guess."""
    start, verdicts = clock[0], 0
    while clock[0] < start + 7 * 86_400:
        reply = api.call("POST", "/auth/login", body=WRONG)
        assert reply.status in (401, 429), reply.body
        if reply.status == 429:
            clock[0] += int(reply.header("Retry-After"))
        else:
            verdicts += 1

    # Five free, a few during the ramp of shorter locks (30 s ... 8 min), then one per 15 minutes; never locked
    # for good either (a lock is always temporary).
    ramp = throttle.MAX_COUNTED - throttle.FREE_FAILURES
    assert (
        7 * 86_400 // throttle.MAX_DELAY - 1
        <= verdicts
        <= throttle.FREE_FAILURES + ramp + 7 * 86_400 // throttle.MAX_DELAY
    )
    assert int(attempts_item(aws)["failures"]["N"]) == throttle.MAX_COUNTED


def test_login_thirty_concurrent_guesses_get_at_most_the_free_attempts(api, aws, ada, monkeypatch, atomic_dynamodb):
    """Issue 9.3: thirty wrong guesses forced to interleave as thirty Lambdas would: every one reads the budget
    before any of them writes. Each attempt must be counted before its password is checked."""
    from auth_core import container

    repository = container.sessions_repository()
    real_read = repository.login_state
    barrier = threading.Barrier(30, timeout=60)

    def read_then_wait(*args, **kwargs):
        state = real_read(*args, **kwargs)
        barrier.wait()  # nobody counts or checks a password before all thirty have read
        return state

    monkeypatch.setattr(repository, "login_state", read_then_wait)
    statuses = burst(30, WRONG)

    verdicts = statuses.count(401)
    assert len(statuses) == 30
    assert 1 <= verdicts <= throttle.FREE_FAILURES  # was 30: every guess got a verdict
    assert statuses.count(429) == 30 - verdicts
    assert int(attempts_item(aws)["failures"]["N"]) == verdicts  # every guess that got a verdict was counted
    monkeypatch.undo()
    if verdicts == throttle.FREE_FAILURES:
        assert api.call("POST", "/auth/login", body=RIGHT).status == 429  # the burst locked the account


def test_login_three_bursts_of_guesses_get_no_more_than_the_policy(api, aws, ada, clock, atomic_dynamodb):
    """Three bursts of ten, each after the lock expired: 5 free failures, then one guess per lock."""
    verdicts = 0
    for _ in range(3):
        statuses = burst(10, WRONG)
        verdicts += statuses.count(401)
        assert set(statuses) <= {401, 429}
        clock[0] += throttle.MAX_DELAY + 1

    assert verdicts == throttle.FREE_FAILURES + 2


def test_login_counts_the_attempt_before_the_password_is_checked(api, aws, ada, monkeypatch):
    import bcrypt

    seen_counts = []
    real_checkpw = bcrypt.checkpw

    def checkpw(*args):
        seen_counts.append(int(attempts_item(aws)["failures"]["N"]))
        return real_checkpw(*args)

    monkeypatch.setattr(bcrypt, "checkpw", checkpw)

    fail(api, 2)

    assert seen_counts == [1, 2]


# Known devices (issue 9.5, CONTRACT.md "Login throttling"): an attacker who only knows the email can't keep its owner
# out, because the owner's device carries a budget of its own.


def device_of(reply) -> str:
    [cookie] = [cookie for cookie in reply.cookies if cookie.startswith("device=")]
    return cookie.split(";")[0].removeprefix("device=")


def login(api, body: dict, device: str | None = None, source_ip: str = "203.0.113.7"):
    headers = {"Cookie": f"device={device}"} if device else None
    return api.call("POST", "/auth/login", body=body, headers=headers, source_ip=source_ip)


def test_login_known_device_signs_in_through_a_simulated_day_of_lockouts(api, ada, clock):
    """Issue 9.5: about four requests an hour kept a victim out for a whole simulated day. Now the victim, on the
    device they signed in with before, signs in every time they try, every 15 minutes, while the attacker keeps the
    account itself locked."""
    device = device_of(login(api, RIGHT))
    sign_ins = []
    for _ in range(24 * 4):
        for _ in range(throttle.FREE_FAILURES + 1):  # the attacker guesses until the account is locked
            if login(api, WRONG, source_ip="198.51.100.66").status == 429:
                break
        else:
            pytest.fail("the attacker never locked the account")
        victim = login(api, RIGHT, device)
        sign_ins.append(victim.status)
        device = device_of(victim) if victim.status == 200 else device
        clock[0] += 900

    assert sign_ins == [200] * 96


def test_login_known_device_has_its_own_budget_of_failures(api, ada, clock):
    device = device_of(login(api, RIGHT))

    typos = [login(api, WRONG, device).status for _ in range(6)]

    assert typos == [401] * 5 + [429]
    assert login(api, RIGHT, device).status == 429  # the device's budget, locked by its own failures
    assert login(api, RIGHT).status == 200  # the account's budget is untouched


@pytest.mark.parametrize(
    "forge",
    [
        lambda value: value[:-1] + ("A" if value[-1] != "A" else "B"),  # tag tampered
        lambda value: "dev1." + "A" * 22 + "." + value.split(".")[2],  # another device id, same tag
        lambda value: "garbage",
        lambda value: value + ".x",
    ],
    ids=["tampered-tag", "swapped-device-id", "garbage", "extra-segment"],
)
def test_login_forged_device_credential_counts_on_the_account_budget(api, ada, clock, forge):
    device = device_of(login(api, RIGHT))
    fail(api, 5)  # the account is locked

    reply = login(api, RIGHT, forge(device))

    assert reply.status == 429


def test_login_device_credential_of_another_account_counts_on_the_account_budget(api, ada, signed_in, clock):
    bob_device = device_of(
        login(api, {"email": "bob@example.com", "password": PASSWORD}) if signed_in("bob@example.com") else None
    )
    fail(api, 5)

    assert login(api, RIGHT, bob_device).status == 429


def test_login_device_credential_is_no_session_credential(api, ada):
    device = device_of(login(api, RIGHT))

    assert api.call("GET", "/me", token=device).body["error"] == "invalid_token"
    refreshed = api.call("POST", "/auth/refresh", body={"refresh_token": device})
    assert (refreshed.status, refreshed.body["error"]) == (400, "invalid_request")


def test_login_second_account_in_the_same_browser_keeps_the_first_ones_known_device(api, ada, clock):
    """Found by the attack review: one `device` cookie per browser used to name one account, so signing in to a
    second account took the first one's known device away, and its owner could be kept out again."""
    work = {"email": "ada.work@example.com", "password": PASSWORD}
    assert api.call("POST", "/auth/register", body=work).status == 201
    jar = device_of(login(api, RIGHT))
    jar = device_of(login(api, work, jar))  # the same browser: the cookie is replaced by the second login's
    fail(api, throttle.FREE_FAILURES + 1)  # the attacker, elsewhere, locks ada's account budget

    assert login(api, RIGHT, jar).status == 200
    assert login(api, work, jar).status == 200


def test_login_success_keeps_failures_counted_while_it_checked_its_password(api, ada, monkeypatch):
    """Found by the attack review: the owner's success used to delete the budget unconditionally, erasing failures
    (and the lock) that an attacker's guesses had counted while the owner's bcrypt ran."""
    from auth_core import container
    from auth_core.errors import InvalidCredentialsError, TooManyAttemptsError

    service = container.auth_service()
    real_verify = service._hasher.verify
    owner_checking, attacker_done = threading.Event(), threading.Event()

    def verify(password, password_hash):
        if password == PASSWORD:  # the owner's attempt: counted already, now in bcrypt
            owner_checking.set()
            attacker_done.wait(30)
        return real_verify(password, password_hash)

    monkeypatch.setattr(service._hasher, "verify", verify)
    owner = threading.Thread(target=lambda: service.login(**RIGHT))
    owner.start()
    assert owner_checking.wait(30)

    def guesses() -> int:
        verdicts = 0
        for _ in range(10):
            try:
                service.login(**WRONG)
            except InvalidCredentialsError:
                verdicts += 1
            except TooManyAttemptsError:
                break
        return verdicts

    during = guesses()
    attacker_done.set()
    owner.join(30)
    after = guesses()

    assert during + after <= throttle.FREE_FAILURES  # the owner's own attempt took one of the five


def test_login_right_password_during_a_dynamodb_outage_brings_no_lock(api, ada, monkeypatch):
    """Found by the attack review: a right-password login whose session write failed (503) stayed counted as a
    failure, so five of them during an outage locked the owner out once DynamoDB was back."""
    from botocore.exceptions import ClientError

    from auth_core import container

    client = container.dynamodb()

    def throttled(**_):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "TransactWriteItems")

    client.meta.events.register_first("before-call.dynamodb.TransactWriteItems", throttled, unique_id="outage")
    try:
        during = [api.call("POST", "/auth/login", body=RIGHT).status for _ in range(throttle.FREE_FAILURES + 1)]
    finally:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="outage")

    assert during == [503] * (throttle.FREE_FAILURES + 1)
    assert api.call("POST", "/auth/login", body=RIGHT).status == 200

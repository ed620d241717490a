"""The account lifecycle (issue 10; CONTRACT.md routes table, "Emailed links", "Login throttling"): email
verification, forgotten and changed passwords, the caller's sessions. Mail goes through moto's SES v2; each test reads
the mail a user would get and performs the flow, or the attack, through the template's gateway."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from auth_core import container, throttle
from auth_core.attempts import session_attempts_key
from auth_core.mail_quota import PER_HOUR
from tests.conftest import PASSWORD, TEST_ENV

ADA = "ada@example.com"
NEW_PASSWORD = "a brand new Passphrase 9"
BASE = TEST_ENV["APP_BASE_URL"]


def mails_to(address: str) -> list:
    backend = ses_backends[DEFAULT_ACCOUNT_ID][TEST_ENV["AWS_DEFAULT_REGION"]]
    return [mail for mail in backend.sent_messages if address in mail.destinations["ToAddresses"]]


def link_of(mail, path: str) -> str:
    """The token of the link to `path` in a mail, as the demo page reads it from its query string."""
    match = re.search(re.escape(f"{BASE}{path}?token=") + r"([A-Za-z0-9_.-]+)", mail.body)
    assert match, mail.body
    return match.group(1)


def last_token(address: str, path: str) -> str:
    """The token of the last mail to `address` with a link to `path`."""
    return link_of([mail for mail in mails_to(address) if f"{path}?" in mail.body][-1], path)


def login(api, email: str = ADA, password: str = PASSWORD):
    return api.call("POST", "/auth/login", body={"email": email, "password": password})


def me(api, access_token: str):
    return api.call("GET", "/me", token=access_token)


def refresh(api, refresh_token: str):
    return api.call("POST", "/auth/refresh", body={"refresh_token": refresh_token})


def forgot(api, email: str = ADA):
    return api.call("POST", "/auth/password/forgot", body={"email": email})


def resend(api, email: str = ADA):
    return api.call("POST", "/auth/verify-email/resend", body={"email": email})


def reset(api, token: str, password: str = NEW_PASSWORD):
    return api.call("POST", "/auth/password/reset", body={"token": token, "password": password})


def change(api, access_token: str, current: str = PASSWORD, new: str = NEW_PASSWORD):
    body = {"current_password": current, "new_password": new}
    return api.call("POST", "/me/password", body=body, token=access_token)


@pytest.fixture
def clock(api, monkeypatch):
    """One clock for every service, moved by hand."""
    now = [time.time()]
    for service in (container.auth_service(), container.account_service(), container.token_service()):
        monkeypatch.setattr(service, "_clock", lambda: now[0])
    return now


@pytest.fixture
def verified_required(monkeypatch):
    monkeypatch.setenv("REQUIRE_VERIFIED_EMAIL", "true")
    container.reset()


@pytest.fixture
def registered(api):
    assert api.call("POST", "/auth/register", body={"email": ADA, "password": PASSWORD}).status == 201
    return last_token(ADA, "/verify-email")


# ---------------------------------------------------------------------------------------------------------------
# Email verification


def test_register_mails_a_verification_link_that_verifies_the_email_once(api, registered):
    (mail,) = mails_to(ADA)
    assert (mail.source, mail.subject) == (TEST_ENV["SENDER_EMAIL"], "Verify your email address")
    session = login(api).body
    assert me(api, session["access_token"]).body["user"]["email_verified"] is False

    assert api.call("POST", "/auth/verify-email", body={"token": registered}).status == 204

    assert me(api, session["access_token"]).body["user"]["email_verified"] is True
    again = api.call("POST", "/auth/verify-email", body={"token": registered})
    assert (again.status, again.body["error"]) == (400, "invalid_link")


@pytest.mark.parametrize(
    "token",
    ["", "not-a-token", "A" * 22 + "." + "B" * 43, "A" * 22 + "." + "B" * 42, "x" * 256],
    ids=["empty", "shapeless", "unknown", "short", "long"],
)
def test_verify_malformed_or_unknown_token_is_invalid_link(api, registered, token):
    reply = api.call("POST", "/auth/verify-email", body={"token": token})

    assert (reply.status, reply.body["error"]) == (400, "invalid_link")


def test_verify_with_a_tampered_verifier_is_invalid_and_leaves_the_link_usable(api, registered):
    selector, verifier = registered.split(".")
    tampered = f"{selector}.{'A' if verifier[0] != 'A' else 'B'}{verifier[1:]}"

    assert api.call("POST", "/auth/verify-email", body={"token": tampered}).body["error"] == "invalid_link"
    assert api.call("POST", "/auth/verify-email", body={"token": registered}).status == 204


def test_verify_link_after_24_hours_is_invalid_link(api, registered, clock):
    clock[0] += 24 * 3600 + 1

    reply = api.call("POST", "/auth/verify-email", body={"token": registered})

    assert (reply.status, reply.body["error"]) == (400, "invalid_link")


def test_verify_with_a_reset_link_is_invalid_link(api, registered):
    forgot(api)

    reply = api.call("POST", "/auth/verify-email", body={"token": last_token(ADA, "/reset-password")})

    assert reply.body["error"] == "invalid_link"


def test_links_are_stored_only_as_hashes(api, aws, registered):
    items = aws["dynamodb"].scan(TableName=TEST_ENV["TOKENS_TABLE_NAME"])["Items"]
    selector, verifier = registered.split(".")

    assert verifier not in repr(items)
    (link,) = [item for item in items if item["pk"]["S"].startswith("LINK#")]
    assert link["pk"]["S"] == f"LINK#{selector}"
    assert int(link["expires_at"]["N"]) <= time.time() + 24 * 3600 + 1  # a TTL


def test_login_unverified_when_required_right_password_403_wrong_password_401(api, registered, verified_required):
    wrong = login(api, password="not the password 1")
    refused = [login(api) for _ in range(7)]  # the right password is never a failure: no lock

    assert (wrong.status, wrong.body["error"]) == (401, "invalid_credentials")
    assert {(reply.status, reply.body["error"]) for reply in refused} == {(403, "email_not_verified")}
    assert api.call("POST", "/auth/verify-email", body={"token": registered}).status == 204
    assert login(api).status == 200


def test_admin_created_by_make_admin_is_verified(api, verified_required):
    container.auth_service().create_admin(email="root@example.com", password=PASSWORD)

    reply = login(api, "root@example.com")

    assert reply.status == 200
    assert me(api, reply.body["access_token"]).body["user"]["email_verified"] is True


def test_resend_mails_an_unverified_address_only_and_answers_alike(api, registered, clock):
    clock[0] += 61
    unverified = resend(api)
    unknown = resend(api, "nobody@example.com")
    assert len(mails_to(ADA)) == 2
    assert api.call("POST", "/auth/verify-email", body={"token": last_token(ADA, "/verify-email")}).status == 204
    clock[0] += 61
    verified = resend(api)

    assert len(mails_to(ADA)) == 2  # nothing for a verified address
    assert mails_to("nobody@example.com") == []
    assert {(r.status, r.raw_body) for r in (unverified, unknown, verified)} == {(202, "")}
    assert {_comparable(r.headers) for r in (unverified, unknown, verified)} == {_comparable(unknown.headers)}


def _comparable(headers: dict) -> tuple:
    """The headers, without the per-request ids."""
    return tuple(sorted((k, tuple(v)) for k, v in headers.items() if "request" not in k.lower()))


# ---------------------------------------------------------------------------------------------------------------
# Forgot and reset


def test_forgot_answers_alike_for_known_unknown_and_disabled(api, registered, signed_in):
    container.auth_service()  # same process, same answer shape
    known, unknown = forgot(api), forgot(api, "nobody@example.com")

    assert (known.status, known.raw_body) == (unknown.status, unknown.raw_body) == (202, "")
    assert _comparable(known.headers) == _comparable(unknown.headers)
    (mail,) = [mail for mail in mails_to(ADA) if mail.subject == "Reset your password"]
    assert f"{BASE}/reset-password?token=" in mail.body
    assert mails_to("nobody@example.com") == []


def test_forgot_and_resend_share_one_mail_a_minute_and_five_an_hour(api, registered, clock):
    sent = lambda: len(mails_to(ADA)) - 1  # noqa: E731 - the registration mail does not count

    assert forgot(api).status == 202 and sent() == 1
    assert resend(api).status == 202 and sent() == 1  # within 60 s of the last: nothing, same answer
    clock[0] += 59
    assert forgot(api).status == 202 and sent() == 1
    for expected in range(2, PER_HOUR + 1):
        clock[0] += 61
        assert (forgot(api) if expected % 2 else resend(api)).status == 202
        assert sent() == expected
    clock[0] += 61
    assert forgot(api).status == 202 and sent() == PER_HOUR  # the sixth within the hour: nothing
    clock[0] += 3600 - 4 * 61 - 59  # the first send leaves the sliding window
    assert forgot(api).status == 202 and sent() == PER_HOUR + 1


def test_reset_policy_failure_keeps_the_link_then_reset_ends_every_session(api, signed_in, clock):
    first = signed_in()
    second = login(api).body
    forgot(api)
    token = last_token(ADA, "/reset-password")

    weak = reset(api, token, password="password123")
    assert (weak.status, weak.body["error"]) == (400, "validation_error")
    assert reset(api, token).status == 204
    clock[0] += 0.001  # a login in the reset's own millisecond is refused too (CONTRACT.md)

    for session in (first, second):
        assert me(api, session["access_token"]).body["error"] == "token_revoked"  # the authorizer refuses them
        assert refresh(api, session["refresh_token"]).body["error"] == "token_revoked"
    assert login(api).status == 401
    fresh = login(api, password=NEW_PASSWORD)
    assert fresh.status == 200
    assert me(api, fresh.body["access_token"]).body["user"]["email_verified"] is True
    assert reset(api, token, password="yet another Passphrase 8").body["error"] == "invalid_link"


def test_reset_spends_every_older_reset_link(api, signed_in, clock):
    signed_in()
    forgot(api)
    older = last_token(ADA, "/reset-password")
    clock[0] += 61
    forgot(api)
    newer = last_token(ADA, "/reset-password")
    clock[0] += 1

    assert reset(api, newer).status == 204
    assert reset(api, older, password="yet another Passphrase 8").body["error"] == "invalid_link"


def test_reset_link_after_30_minutes_is_invalid_link(api, signed_in, clock):
    signed_in()
    forgot(api)
    clock[0] += 30 * 60 + 1

    reply = reset(api, last_token(ADA, "/reset-password"))

    assert (reply.status, reply.body["error"]) == (400, "invalid_link")
    assert login(api).status == 200  # nothing changed


def test_reset_two_concurrent_uses_of_one_link_only_one_wins(api, signed_in, monkeypatch, atomic_dynamodb):
    """Both requests read the link before either spends it (Barrier): the conditional delete lets one through."""
    signed_in()
    forgot(api)
    token = last_token(ADA, "/reset-password")
    links = container.account_service()._links
    real_find = links.find
    barrier = threading.Barrier(2, timeout=30)

    def find_then_wait(*args, **kwargs):
        link = real_find(*args, **kwargs)
        barrier.wait()
        return link

    monkeypatch.setattr(links, "find", find_then_wait)
    passwords = [NEW_PASSWORD, "the other Passphrase 77"]
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda password: reset(api, token, password), passwords))

    assert sorted(reply.status for reply in replies) == [204, 400]
    loser = next(reply for reply in replies if reply.status == 400)
    assert loser.body["error"] == "invalid_link"
    winner = passwords[[reply.status for reply in replies].index(204)]
    assert [login(api, password=p).status for p in passwords] == [200 if p == winner else 401 for p in passwords]


# ---------------------------------------------------------------------------------------------------------------
# Password change


def test_change_password_keeps_the_callers_session_and_ends_the_others(api, signed_in):
    caller = signed_in()
    other = login(api).body

    assert change(api, caller["access_token"]).status == 204

    assert me(api, caller["access_token"]).status == 200
    rotated = refresh(api, caller["refresh_token"])
    assert rotated.status == 200
    assert me(api, rotated.body["access_token"]).status == 200
    assert me(api, other["access_token"]).body["error"] == "token_revoked"
    assert refresh(api, other["refresh_token"]).body["error"] == "token_revoked"
    assert login(api).status == 401
    assert login(api, password=NEW_PASSWORD).status == 200


def test_change_password_then_logout_all_ends_the_kept_session_too(api, signed_in):
    caller = signed_in()
    change(api, caller["access_token"])

    assert api.call("POST", "/auth/logout-all", token=caller["access_token"]).status == 204

    assert me(api, caller["access_token"]).body["error"] == "token_revoked"


def test_change_password_wrong_current_is_401_and_throttled_on_the_callers_session(api, signed_in):
    """The login throttle's arithmetic on a budget of the session: a stolen access token gets the free attempts of
    its one session, and the account's sign-in and the owner's other sessions are untouched."""
    caller = signed_in()

    wrong = [change(api, caller["access_token"], current="not the password 1") for _ in range(5)]
    locked = change(api, caller["access_token"])

    assert {(r.status, r.body["error"]) for r in wrong} == {(401, "invalid_credentials")}
    assert (locked.status, locked.body["error"]) == (429, "too_many_attempts")
    assert 0 < int(locked.header("Retry-After")) <= throttle.BASE_DELAY
    other = login(api)
    assert other.status == 200
    assert change(api, other.body["access_token"]).status == 204


def test_change_password_concurrent_wrong_guesses_on_one_session_get_at_most_the_free_attempts(
    api, signed_in, monkeypatch, atomic_dynamodb
):
    """Ten wrong guesses with one access token, forced to interleave as ten Lambdas would: every one reads the
    session's budget before any of them counts. Each is counted before bcrypt checks it."""
    caller = signed_in()
    repository, hasher = container.sessions_repository(), container.account_service()._hasher
    real_read, real_verify, barrier = repository.change_state, hasher.verify, threading.Barrier(10, timeout=60)
    budget, counted_at_check = session_attempts_key(ADA, caller["refresh_token"].split(".")[1]), []

    def read_then_wait(*args, **kwargs):
        state = real_read(*args, **kwargs)
        barrier.wait()  # nobody counts or checks a password before all ten have read
        return state

    def verify_counted(*args):
        table = TEST_ENV["TOKENS_TABLE_NAME"]
        item = container.dynamodb().get_item(TableName=table, Key=budget, ConsistentRead=True).get("Item")
        counted_at_check.append(int(item["failures"]["N"]) if item else 0)
        return real_verify(*args)

    monkeypatch.setattr(repository, "change_state", read_then_wait)
    monkeypatch.setattr(hasher, "verify", verify_counted)
    with ThreadPoolExecutor(10) as pool:
        replies = list(pool.map(lambda _: change(api, caller["access_token"], current="not the password 1"), range(10)))
    monkeypatch.undo()

    statuses = [reply.status for reply in replies]
    assert 1 <= statuses.count(401) <= throttle.FREE_FAILURES
    assert len(counted_at_check) == statuses.count(401) and min(counted_at_check) >= 1  # bcrypt after the count
    assert statuses.count(429) == 10 - statuses.count(401)
    if statuses.count(401) == throttle.FREE_FAILURES:
        assert change(api, caller["access_token"]).status == 429  # the burst locked the session's changes


@pytest.mark.parametrize(
    ("new", "field"), [(PASSWORD, "new_password"), ("password123", "new_password")], ids=["same", "weak"]
)
def test_change_password_same_or_weak_is_validation_error_and_changes_nothing(api, signed_in, new, field):
    caller = signed_in()

    reply = change(api, caller["access_token"], new=new)

    assert (reply.status, reply.body["error"]) == (400, "validation_error")
    assert reply.body["details"][0]["field"] == field
    assert login(api).status == 200


def _pause(monkeypatch, target, name: str, barrier: threading.Barrier) -> None:
    """Make `target.name` do its work, then wait twice at `barrier`: once to say it is done, once for leave."""
    real = getattr(target, name)

    def paused(*args, **kwargs):
        result = real(*args, **kwargs)
        barrier.wait()
        barrier.wait()
        return result

    monkeypatch.setattr(target, name, paused)


def test_change_password_beats_another_sessions_refresh_in_flight(api, signed_in, monkeypatch, atomic_dynamodb):
    """The other session's refresh read its session and user before the change, and writes after it."""
    caller = signed_in()
    other = login(api).body
    barrier = threading.Barrier(2, timeout=30)
    _pause(monkeypatch, container.sessions_repository(), "refresh_state", barrier)

    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(refresh, api, other["refresh_token"])
        barrier.wait()  # the refresh has read
        changed = change(api, caller["access_token"])
        barrier.wait()
        reply = in_flight.result()

    assert changed.status == 204
    assert (reply.status, reply.body["error"]) == (401, "token_revoked")


def test_change_password_lets_the_callers_own_refresh_in_flight_through(api, signed_in, monkeypatch, atomic_dynamodb):
    caller = signed_in()
    barrier = threading.Barrier(2, timeout=30)
    _pause(monkeypatch, container.sessions_repository(), "refresh_state", barrier)

    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(refresh, api, caller["refresh_token"])
        barrier.wait()
        changed = change(api, caller["access_token"])
        barrier.wait()
        reply = in_flight.result()

    assert changed.status == 204
    assert reply.status == 200
    assert me(api, reply.body["access_token"]).status == 200


def test_change_password_beats_a_login_with_the_old_password_in_flight(api, signed_in, monkeypatch, atomic_dynamodb):
    """The login read the user and checked the old password before the change; its session would be written after:
    it gets no session (else the old password would have opened one after the change)."""
    caller = signed_in()
    barrier = threading.Barrier(2, timeout=30)
    _pause(monkeypatch, container.auth_service()._hasher, "verify", barrier)

    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(login, api)
        barrier.wait()  # the login has checked the old password
        monkeypatch.undo()  # the change checks its own password unpaused
        changed = change(api, caller["access_token"])
        barrier.wait()
        reply = in_flight.result()

    assert changed.status == 204
    assert (reply.status, reply.body["error"]) == (401, "invalid_credentials")
    sessions = api.call("GET", "/me/sessions", token=caller["access_token"]).body["sessions"]
    assert [session["current"] for session in sessions] == [True]


# ---------------------------------------------------------------------------------------------------------------
# Sessions


def test_sessions_lists_live_sessions_newest_first_with_the_current_one_flagged(api, signed_in, clock):
    first = signed_in()
    clock[0] += 5
    second = api.call("POST", "/auth/login", body={"email": ADA, "password": PASSWORD}, source_ip="198.51.100.9")
    clock[0] += 5
    ended = login(api).body
    api.call("POST", "/auth/logout", body={"refresh_token": ended["refresh_token"]})

    reply = api.call("GET", "/me/sessions", token=first["access_token"])

    assert reply.status == 200
    sessions = reply.body["sessions"]
    assert [s["ip"] for s in sessions] == ["198.51.100.9", "203.0.113.7"]
    assert [s["current"] for s in sessions] == [False, True]
    assert set(sessions[0]) == {"id", "created_at", "last_used_at", "user_agent", "ip", "current"}
    assert sessions[0]["user_agent"].startswith("Mozilla/5.0")
    assert second.body["refresh_token"].split(".")[1] == sessions[0]["id"]  # the sid, never a token
    assert all(second.body["refresh_token"] != value for s in sessions for value in s.values())


def test_sessions_index_projects_no_token_hash(api, aws, signed_in):
    signed_in()

    items = aws["dynamodb"].scan(TableName=TEST_ENV["TOKENS_TABLE_NAME"], IndexName="user_id-created_at-index")

    assert items["Items"]
    assert all(not any("hash" in name for name in item) for item in items["Items"])


def test_end_session_ends_its_refresh_and_access_tokens_and_leaves_the_others(api, signed_in):
    caller = signed_in()
    other = login(api).body
    other_id = other["refresh_token"].split(".")[1]

    reply = api.call(
        "DELETE", "/me/sessions/{session_id}", path_params={"session_id": other_id}, token=caller["access_token"]
    )

    assert reply.status == 204
    assert me(api, other["access_token"]).body["error"] == "token_revoked"
    assert refresh(api, other["refresh_token"]).body["error"] == "token_revoked"
    assert me(api, caller["access_token"]).status == 200
    listed = api.call("GET", "/me/sessions", token=caller["access_token"]).body["sessions"]
    assert [s["current"] for s in listed] == [True]
    again = api.call(
        "DELETE", "/me/sessions/{session_id}", path_params={"session_id": other_id}, token=caller["access_token"]
    )
    assert (again.status, again.body["error"]) == (404, "not_found")


def test_end_session_of_another_user_or_unknown_is_404_and_ends_nothing(api, signed_in):
    ada = signed_in()
    bob = signed_in("bob@example.com")
    bob_id = bob["refresh_token"].split(".")[1]

    for session_id in (bob_id, "A" * 22):
        reply = api.call(
            "DELETE", "/me/sessions/{session_id}", path_params={"session_id": session_id}, token=ada["access_token"]
        )
        assert (reply.status, reply.body["error"]) == (404, "not_found")
    assert me(api, bob["access_token"]).status == 200


@pytest.mark.parametrize("session_id", ["short", "A" * 65, "bad%21chars%21here%21"])
def test_end_session_malformed_id_is_validation_error(api, signed_in, session_id):
    ada = signed_in()

    reply = api.call(
        "DELETE", "/me/sessions/{session_id}", path_params={"session_id": session_id}, token=ada["access_token"]
    )

    assert (reply.status, reply.body["error"]) == (400, "validation_error")


def test_end_own_current_session_signs_the_caller_out(api, signed_in):
    ada = signed_in()
    own = ada["refresh_token"].split(".")[1]

    reply = api.call("DELETE", "/me/sessions/{session_id}", path_params={"session_id": own}, token=ada["access_token"])

    assert reply.status == 204
    assert me(api, ada["access_token"]).body["error"] == "token_revoked"


# ---------------------------------------------------------------------------------------------------------------
# Logs


def test_no_link_token_in_any_log_line_and_each_event_audited(api, signed_in, logs):
    signed_in()
    forgot(api)
    token = last_token(ADA, "/reset-password")
    reset(api, token)
    caller = login(api, password=NEW_PASSWORD).body
    change(api, caller["access_token"], current=NEW_PASSWORD, new="third Passphrase of 2024")
    other = login(api, password="third Passphrase of 2024").body
    ended = api.call(
        "DELETE",
        "/me/sessions/{session_id}",
        path_params={"session_id": other["refresh_token"].split(".")[1]},
        token=caller["access_token"],
    )
    assert ended.status == 204

    lines = logs()
    secrets = [token, token.split(".")[1], *(last_token(ADA, "/verify-email").split("."))]
    assert not [line for line in lines if any(secret in line for secret in secrets)]
    events = {(m["event"], m["outcome"]) for line in lines if (m := _json(line)) and m.get("audit")}
    assert {
        ("password_forgot", "requested"),
        ("mail_sent", "success"),
        ("password_reset", "success"),
        ("password_changed", "success"),
        ("session_ended", "success"),
    } <= events


def _json(line: str) -> dict | None:
    import json

    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def test_forgot_and_resend_end_at_the_floor_whatever_the_address(api, registered, monkeypatch):
    """Every path ends MAIL_RESPONSE_SECONDS after it started, by the service's clock (each reading of which costs a
    simulated millisecond here, so the paths that do more work take longer before the floor): `make bench` measures
    the same on real time."""
    account = container.account_service()
    now, slept = [1_000_000.0], []

    def tick() -> float:
        now[0] += 0.001
        return now[0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(account, "_floor", 0.5)
    monkeypatch.setattr(account, "_clock", tick)
    monkeypatch.setattr(account, "_sleep", sleep)
    durations = []
    for call in (forgot, resend):
        for address in (ADA, "nobody@example.com"):
            started = now[0]
            assert call(api, address).status == 202
            durations.append(round(now[0] - started, 6))

    assert durations == [0.501] * 4
    assert len(mails_to(ADA)) == 2  # the registration's and the reset's (resend was within the minute)
    assert min(slept) < max(slept)  # the sleeps differ: they absorbed the different work


@pytest.mark.parametrize(
    ("sample", "status"),
    [
        ("verify-email", 400),  # its token is no live link
        ("verify-email-resend", 202),
        ("password-forgot", 202),
        ("password-reset", 400),
        ("me-password", 401),  # its caller has no account here
        ("me-sessions", 401),
        ("me-session-delete", 404),
    ],
)
def test_sample_event_reaches_its_handler(aws, sample, status):
    from tests.lambda_events import LambdaContext, handler_of, load_event

    function = "me" if sample.startswith("me-s") else "account"

    result = handler_of(function)(load_event(sample), LambdaContext())

    assert result["statusCode"] == status, result["body"]

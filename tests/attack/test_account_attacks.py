"""Attacks on the account lifecycle (issue 10: emailed links, forgot/resend, password change and reset, the caller's
sessions), as an outside attacker performs them, with the project's own handlers on moto. Tests named `test_held_...`
are attacks the code withstood, kept as regression tests; the others each prove a finding of the attack review."""

from __future__ import annotations

import math
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor

import pytest

from auth_core import container, throttle
from tests.conftest import PASSWORD
from tests.integration.test_account import (
    ADA,
    NEW_PASSWORD,
    change,
    forgot,
    last_token,
    login,
    mails_to,
    me,
    refresh,
    resend,
    reset,
)

WRONG = "wrong password 123"


@pytest.fixture
def clock(api, monkeypatch):
    """One settable clock for every service."""
    now = [time.time()]
    services = (container.auth_service(), container.account_service(), container.token_service())
    for service in (*services, container.admin_service()):
        monkeypatch.setattr(service, "_clock", lambda: now[0])
    return now


def verify(api, token: str):
    return api.call("POST", "/auth/verify-email", body={"token": token})


def sessions(api, access_token: str):
    return api.call("GET", "/me/sessions", token=access_token)


def end(api, access_token: str, session_id: str):
    return api.call("DELETE", "/me/sessions/{session_id}", path_params={"session_id": session_id}, token=access_token)


def sid(pair: dict) -> str:
    return pair["refresh_token"].split(".")[1]


def paused(monkeypatch, target, name: str, barrier: threading.Barrier) -> None:
    """`target.name` does its work, then waits twice at `barrier`: "I have read", then "go on and write"."""
    real = getattr(target, name)

    def wrapper(*args, **kwargs):
        result = real(*args, **kwargs)
        barrier.wait()
        barrier.wait()
        return result

    monkeypatch.setattr(target, name, wrapper)


def interleave(barrier: threading.Barrier, first, second):
    """Run `first` in a thread up to its pause at `barrier`, then `second` in full, then let `first` finish: both
    replies, (first, second)."""
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(first)
        barrier.wait()
        other = second()
        barrier.wait()
        return in_flight.result(), other


# ---------------------------------------------------------------------------------------------------------------
# Findings


def test_logout_all_beats_a_password_change_in_flight_on_another_session(api, signed_in, monkeypatch, atomic_dynamodb):
    """The thief of session A (who also has the password) changes it; A's request has passed the authorizer and read
    the user when the owner signs out everywhere from B. The change lands after the logout-all: its `kept_session`
    must not bring A back to life (CONTRACT.md: logout-all refuses every token issued at or before that instant)."""
    thief = signed_in()
    owner = login(api).body
    barrier = threading.Barrier(2, timeout=30)
    paused(monkeypatch, container.account_service()._hasher, "verify", barrier)

    def changing():
        return change(api, thief["access_token"])

    changed, logged_out = interleave(
        barrier, changing, lambda: api.call("POST", "/auth/logout-all", token=owner["access_token"])
    )

    assert logged_out.status == 204
    assert me(api, thief["access_token"]).status == 401, changed.status
    assert refresh(api, thief["refresh_token"]).status == 401
    assert (changed.status, changed.body["error"]) == (401, "token_revoked")  # nothing changed
    assert login(api).status == 200


def test_failed_logins_from_elsewhere_do_not_keep_a_signed_in_owner_from_changing_the_password(api, signed_in):
    """An attacker who knows only the email fails logins (no device cookie) until the account budget locks. The owner,
    signed in (a session is at least as strong a credential as a device cookie), tries to change the password: the
    contract's promise that "an attacker who knows an email cannot keep its owner out" should cover this too."""
    owner = signed_in()
    for _ in range(throttle.FREE_FAILURES + 1):
        login(api, password=WRONG)
    assert login(api).status == 429  # the account budget is locked

    reply = change(api, owner["access_token"])

    assert reply.status == 204, reply.body


def test_a_thief_with_a_kept_session_cannot_defeat_the_owners_reset_by_changing_the_password(api, signed_in, clock):
    signed_in()
    thief = login(api).body
    assert change(api, thief["access_token"], new="the thief's Passphrase 1").status == 204  # the owner is out
    clock[0] += 1
    forgot(api)  # the owner asks for a reset link
    owners_link = last_token(ADA, "/reset-password")
    clock[0] += 1
    body = {"current_password": "the thief's Passphrase 1", "new_password": "the thief's Passphrase 2"}
    assert api.call("POST", "/me/password", body=body, token=thief["access_token"]).status == 204  # in a loop
    clock[0] += 1

    reply = reset(api, owners_link)

    assert reply.status == 204, reply.body
    assert me(api, thief["access_token"]).status == 401
    assert login(api, password=NEW_PASSWORD).status == 200


# ---------------------------------------------------------------------------------------------------------------
# Emailed links: reuse, guessing, tampering, cross purpose, expiry


@pytest.fixture
def unverified(api):
    assert api.call("POST", "/auth/register", body={"email": ADA, "password": PASSWORD}).status == 201
    return last_token(ADA, "/verify-email")


def test_held_link_tampering_selector_swaps_and_cross_purpose(api, unverified, clock):
    forgot(api)
    reset_token = last_token(ADA, "/reset-password")
    v_sel, v_ver = unverified.split(".")
    r_sel, r_ver = reset_token.split(".")
    flip = lambda text, i: text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]  # noqa: E731
    forged = [
        f"{v_sel}.{r_ver}",  # the verify selector with the reset verifier, and the reverse
        f"{r_sel}.{v_ver}",
        f"{flip(v_sel, 0)}.{v_ver}",
        f"{v_sel}.{flip(v_ver, 42)}",
        f"{v_sel}.{v_ver}=",
        f" {unverified}",
        f"{unverified}\n",
        unverified.upper(),
        f"{v_sel}.{v_ver}.{v_ver}",
        f"{v_sel}%2E{v_ver}",
    ]
    for token in forged:
        assert verify(api, token).body["error"] == "invalid_link", token
        assert reset(api, token).body["error"] == "invalid_link", token
    assert reset(api, unverified).body["error"] == "invalid_link"  # a verify link is no reset link
    assert verify(api, reset_token).body["error"] == "invalid_link"  # nor the reverse
    # neither link was spent by all that
    assert verify(api, unverified).status == 204
    assert reset(api, reset_token).status == 204
    assert verify(api, unverified).body["error"] == "invalid_link"
    assert reset(api, reset_token, "yet another Passphrase 8").body["error"] == "invalid_link"


@pytest.mark.parametrize(("route", "ttl"), [("verify", 24 * 3600), ("reset", 30 * 60)])
def test_held_link_expiry_boundaries(api, unverified, clock, route, ttl):
    issued = clock[0]
    if route == "reset":
        forgot(api)
    token = unverified if route == "verify" else last_token(ADA, "/reset-password")
    use = (lambda: verify(api, token)) if route == "verify" else (lambda: reset(api, token))

    clock[0] = issued + ttl
    assert use().body["error"] == "invalid_link"
    clock[0] = issued + ttl + 3600 * 24 * 365
    assert use().body["error"] == "invalid_link"
    clock[0] = issued + ttl - 2
    assert use().status == 204


def test_held_reset_link_outlives_a_password_change_but_not_a_reset(api, signed_in, clock):
    """A change spends no reset link (it proves no mailbox); a reset spends every link issued before it."""
    caller = signed_in()
    forgot(api)
    before_change = last_token(ADA, "/reset-password")
    clock[0] += 1
    assert change(api, caller["access_token"]).status == 204
    clock[0] += 61
    forgot(api)
    later = last_token(ADA, "/reset-password")
    clock[0] += 1

    assert reset(api, before_change, "yet another Passphrase 8").status == 204
    assert reset(api, later, "the thief's Passphrase 1").body["error"] == "invalid_link"
    assert login(api, password="yet another Passphrase 8").status == 200


def test_held_verify_twice_at_once_only_one_wins(api, unverified, monkeypatch, atomic_dynamodb):
    links = container.account_service()._links
    real_find, barrier = links.find, threading.Barrier(2, timeout=30)

    def find_then_wait(*args, **kwargs):
        link = real_find(*args, **kwargs)
        barrier.wait()
        return link

    monkeypatch.setattr(links, "find", find_then_wait)
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda _: verify(api, unverified), range(2)))

    assert sorted(reply.status for reply in replies) == [204, 400]


# ---------------------------------------------------------------------------------------------------------------
# Races between a reset, a change, a login, a refresh and ending a session


def test_held_reset_and_change_at_once_one_wins_and_the_loser_changes_nothing(
    api, signed_in, monkeypatch, atomic_dynamodb
):
    """The change has checked the current password when the reset lands (and the reverse): one password wins."""
    caller = signed_in()
    forgot(api)
    token = last_token(ADA, "/reset-password")
    barrier = threading.Barrier(2, timeout=30)
    paused(monkeypatch, container.account_service()._hasher, "verify", barrier)

    def changing():
        return change(api, caller["access_token"], new="the changed Passphrase 3")

    changed, was_reset = interleave(barrier, changing, lambda: reset(api, token))

    assert was_reset.status == 204
    assert changed.status == 401
    assert login(api, password=NEW_PASSWORD).status == 200
    assert login(api, password="the changed Passphrase 3").status == 401
    assert me(api, caller["access_token"]).status == 401  # the reset kept no session


def test_held_reset_that_read_its_link_wins_over_a_change_landing_first(api, signed_in, monkeypatch, atomic_dynamodb):
    """The change lands between the reset's read of its link and its write: the link still holds (a change spends
    none), and the reset ends every session, the one the change kept included."""
    caller = signed_in()
    forgot(api)
    token = last_token(ADA, "/reset-password")
    barrier = threading.Barrier(2, timeout=30)
    paused(monkeypatch, container.account_service()._links, "find", barrier)

    def resetting():
        return reset(api, token, "the reset Passphrase 4")

    was_reset, changed = interleave(barrier, resetting, lambda: change(api, caller["access_token"]))

    assert (changed.status, was_reset.status) == (204, 204)
    assert me(api, caller["access_token"]).status == 401
    assert login(api, password=NEW_PASSWORD).status == 401
    assert login(api, password="the reset Passphrase 4").status == 200


def test_held_reset_beats_a_login_with_the_old_password_in_flight(api, signed_in, monkeypatch, atomic_dynamodb):
    signed_in()
    forgot(api)
    token = last_token(ADA, "/reset-password")
    barrier = threading.Barrier(2, timeout=30)
    paused(monkeypatch, container.auth_service()._hasher, "verify", barrier)

    def logging_in():
        return login(api)

    logged_in, was_reset = interleave(barrier, logging_in, lambda: reset(api, token))

    assert was_reset.status == 204
    assert logged_in.status == 401


def test_held_reset_beats_a_refresh_in_flight(api, signed_in, monkeypatch, atomic_dynamodb):
    caller = signed_in()
    forgot(api)
    token = last_token(ADA, "/reset-password")
    barrier = threading.Barrier(2, timeout=30)
    paused(monkeypatch, container.sessions_repository(), "refresh_state", barrier)

    def refreshing():
        return refresh(api, caller["refresh_token"])

    refreshed, was_reset = interleave(barrier, refreshing, lambda: reset(api, token))

    assert was_reset.status == 204
    assert refreshed.body["error"] == "token_revoked"


def test_held_ending_a_session_beats_its_refresh_in_flight(api, signed_in, monkeypatch, atomic_dynamodb):
    owner = signed_in()
    thief = login(api).body
    barrier = threading.Barrier(2, timeout=30)
    paused(monkeypatch, container.auth_service(), "_live", barrier)  # the refresh has read, not the DELETE

    def refreshing():
        return refresh(api, thief["refresh_token"])

    refreshed, ended = interleave(barrier, refreshing, lambda: end(api, owner["access_token"], sid(thief)))

    assert ended.status == 204
    monkeypatch.undo()
    assert refreshed.status == 401 or me(api, refreshed.body["access_token"]).status == 401
    assert refresh(api, thief["refresh_token"]).status == 401
    assert [s["current"] for s in sessions(api, owner["access_token"]).body["sessions"]] == [True]


# ---------------------------------------------------------------------------------------------------------------
# The kept session of a password change


def test_held_kept_session_dies_with_a_later_reset_logout_all_disable_or_other_change(api, signed_in, clock):
    admin = signed_in("root@example.com", role="admin")
    kept = signed_in()
    assert change(api, kept["access_token"]).status == 204
    clock[0] += 1
    other = login(api, password=NEW_PASSWORD).body
    assert change(api, other["access_token"], current=NEW_PASSWORD, new="third Passphrase of 2024").status == 204
    assert me(api, kept["access_token"]).status == 401  # another change keeps another session only
    assert refresh(api, kept["refresh_token"]).status == 401

    clock[0] += 61
    forgot(api)
    assert reset(api, last_token(ADA, "/reset-password"), "fourth Passphrase of 2024").status == 204
    assert me(api, other["access_token"]).status == 401  # a reset keeps none
    clock[0] += 1

    session = login(api, password="fourth Passphrase of 2024").body
    new = "fifth Passphrase of 2024"
    assert change(api, session["access_token"], current="fourth Passphrase of 2024", new=new).status == 204
    clock[0] += 1
    patch = {"status": "disabled"}
    path = {"user_id": kept["user_id"]}
    assert api.call("PATCH", "/admin/users/{user_id}", token=admin["access_token"], path_params=path, body=patch)
    api.call(
        "PATCH", "/admin/users/{user_id}", token=admin["access_token"], path_params=path, body={"status": "active"}
    )
    assert me(api, session["access_token"]).status == 401  # a disable ends it, and enabling doesn't bring it back
    assert refresh(api, session["refresh_token"]).status == 401


# ---------------------------------------------------------------------------------------------------------------
# Ending sessions by id, listing sessions


@pytest.mark.parametrize(
    "session_id",
    ["..%2F..%2Fadmin", "%2E%2E", "A" * 21 + "%00", "A" * 4000, "JTI%23" + "A" * 22, "SES%23" + "A" * 22],
)
def test_held_odd_session_ids_are_refused(api, signed_in, session_id):
    ada = signed_in()

    reply = end(api, ada["access_token"], session_id)

    assert reply.status in (400, 403, 404), reply.status
    assert me(api, ada["access_token"]).status == 200


def test_held_sessions_list_shows_only_the_callers_sessions_and_no_secret(api, signed_in, aws):
    ada = signed_in()
    bob = signed_in("bob@example.com")
    listed = sessions(api, ada["access_token"]).body["sessions"]

    assert [s["id"] for s in listed] == [sid(ada)]
    text = repr(listed)
    items = aws["dynamodb"].scan(TableName="test-tokens")["Items"]
    hashes = [value["S"] for item in items for name, value in item.items() if "hash" in name]
    assert not [secret for secret in [*hashes, bob["refresh_token"], ada["refresh_token"], sid(bob)] if secret in text]
    assert end(api, bob["access_token"], sid(ada)).status == 404
    assert me(api, ada["access_token"]).status == 200


# ---------------------------------------------------------------------------------------------------------------
# Enumeration


def _comparable(reply) -> tuple:
    headers = tuple(sorted((k, tuple(v)) for k, v in reply.headers.items() if "request" not in k.lower()))
    return reply.status, reply.raw_body, headers


def test_held_forgot_and_resend_answer_alike_for_every_kind_of_address(api, signed_in, clock):
    """Unknown, unverified, verified and disabled accounts, and case/Unicode spellings, get the same answer."""
    admin = signed_in("root@example.com", role="admin")
    signed_in("verified@example.com")
    api.call("POST", "/auth/register", body={"email": "unverified@example.com", "password": PASSWORD})
    disabled = signed_in("disabled@example.com")
    path = {"user_id": disabled["user_id"]}
    api.call(
        "PATCH", "/admin/users/{user_id}", token=admin["access_token"], path_params=path, body={"status": "disabled"}
    )
    verify(api, last_token("verified@example.com", "/verify-email"))
    addresses = [
        "nobody@example.com",
        "verified@example.com",
        "unverified@example.com",
        "disabled@example.com",
        "VERIFIED@Example.COM",
        unicodedata.normalize("NFD", "vérified@example.com"),
    ]
    answers = set()
    for route in ("/auth/password/forgot", "/auth/verify-email/resend"):
        for address in addresses:
            clock[0] += 61
            answers.add(_comparable(api.call("POST", route, body={"email": address})))
    assert len(answers) == 1, answers
    (answer,) = answers
    assert answer[:2] == (202, "")


def test_held_register_login_and_forgot_on_case_and_unicode_variants_meet_one_account(api, unverified, clock):
    for variant in ("ADA@example.com", " Ada@EXAMPLE.com ", "ada@ex\u0061mple.com"):
        reply = api.call("POST", "/auth/register", body={"email": variant, "password": PASSWORD})
        assert (reply.status, reply.body["error"]) == (409, "email_taken")
    assert len(mails_to(ADA)) == 1  # a refused registration mails nothing
    for variant in ("ADA@example.com", "Ada@Example.Com"):
        clock[0] += 61
        forgot(api, variant)
    assert len(mails_to(ADA)) == 3
    assert {m.destinations["ToAddresses"][0] for m in mails_to(ADA)} == {ADA}


# ---------------------------------------------------------------------------------------------------------------
# The mail quota


def test_held_quota_variants_and_forgot_resend_mixing_share_one_budget(api, unverified, clock):
    calls = [
        lambda: forgot(api, "ADA@example.com"),
        lambda: resend(api, "Ada@Example.com"),
        lambda: forgot(api, " ada@EXAMPLE.COM"),
        lambda: resend(api, unicodedata.normalize("NFD", ADA.upper())),
    ]
    for call in calls:
        assert call().status == 202
    assert len(mails_to(ADA)) == 2  # the registration's (not counted) and one more
    for step in range(10):
        clock[0] += 60
        calls[step % len(calls)]()
    assert len(mails_to(ADA)) == 1 + 5  # five an hour, the sliding window


def test_held_concurrent_forgots_racing_the_quota_send_one_mail(api, signed_in, monkeypatch, atomic_dynamodb):
    signed_in()
    quota = container.account_service()._quota
    client = quota._client
    real_get, barrier = client.get_item, threading.Barrier(4, timeout=30)

    def get_then_wait(*args, **kwargs):
        result = real_get(*args, **kwargs)
        if kwargs.get("Key", {}).get("pk", {}).get("S", "").startswith("MAILS#"):
            barrier.wait()
        return result

    monkeypatch.setattr(client, "get_item", get_then_wait)
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: forgot(api), range(4)))

    assert {reply.status for reply in replies} == {202}
    assert len([m for m in mails_to(ADA) if m.subject == "Reset your password"]) == 1


# ---------------------------------------------------------------------------------------------------------------
# The unverified-login 403 and the throttle


def test_held_403_path_is_no_way_around_the_throttle(api, unverified, monkeypatch):
    """Right password of an unverified account: 403; wrong: 401 counted. Brute force through it meets the lock,
    and the right password, once locked, gets 429 like any other (no oracle past the budget)."""
    monkeypatch.setenv("REQUIRE_VERIFIED_EMAIL", "true")
    container.reset()
    assert login(api).status == 403
    statuses = [login(api, password=f"guess number {i} Aa").status for i in range(throttle.FREE_FAILURES)]
    assert statuses == [401] * throttle.FREE_FAILURES
    assert login(api).status == 429
    assert login(api, password="another guess 99").status == 429


def test_reset_link_issued_in_the_millisecond_before_a_reset_is_dead(api, signed_in, clock):
    """The reset stores its instant to the millisecond (`password_reset_at`), and a link its issue time the same way:
    a link issued 0.3 ms before the reset, in the same millisecond, never compares as issued after it."""
    signed_in()
    clock[0] = math.floor(clock[0]) + 10.0001
    forgot(api)
    spent = last_token(ADA, "/reset-password")
    clock[0] += 61  # past the mail quota's minute
    forgot(api)
    before_reset = last_token(ADA, "/reset-password")
    clock[0] += 0.0003
    assert reset(api, spent).status == 204
    clock[0] += 1

    reply = reset(api, before_reset, "the thief's Passphrase 1")

    assert (reply.status, reply.body["error"]) == (400, "invalid_link")
    assert login(api, password=NEW_PASSWORD).status == 200


# ---------------------------------------------------------------------------------------------------------------
# Logs, the local outbox


def test_held_no_link_token_password_or_forged_line_in_any_log_of_any_flow(api, logs, caplog, clock, monkeypatch):
    """Every flow, the failing ones included, with a user agent that tries to forge a log line."""
    forged = '\n{"level":"ERROR","message":"forged"}\r\n'
    agent = {"User-Agent": "Evil/1.0" + forged}
    monkeypatch.setenv("REQUIRE_VERIFIED_EMAIL", "true")
    container.reset()
    for service in (container.auth_service(), container.account_service(), container.token_service()):
        monkeypatch.setattr(service, "_clock", lambda: clock[0])
    api.call("POST", "/auth/register", body={"email": ADA, "password": PASSWORD}, headers=agent)
    verify_token = last_token(ADA, "/verify-email")
    assert login(api).status == 403
    selector, verifier = verify_token.split(".")
    verify(api, f"{selector}.{verifier[::-1]}")
    verify(api, verify_token + "x")
    assert verify(api, verify_token).status == 204
    verify(api, verify_token)
    clock[0] += 61
    forgot(api)
    reset_token = last_token(ADA, "/reset-password")
    reset(api, reset_token, "password123")
    reset(api, reset_token[:-1])
    assert reset(api, reset_token).status == 204
    reset(api, reset_token)
    clock[0] += 1
    session = api.call("POST", "/auth/login", body={"email": ADA, "password": NEW_PASSWORD}, headers=agent).body
    change(api, session["access_token"], current="not the password 1", new="third Passphrase of 2024")
    change(api, session["access_token"], current=NEW_PASSWORD, new="third Passphrase of 2024")
    sessions(api, session["access_token"])
    end(api, session["access_token"], sid(session))

    written = "\n".join([*logs(), caplog.text])
    secrets = [
        verify_token,
        verifier,
        reset_token.split(".")[1],
        reset_token.split(".")[0],
        selector,
        session["refresh_token"],
        session["access_token"],
        PASSWORD,
        NEW_PASSWORD,
        "third Passphrase of 2024",
        "password123",
    ]
    assert [secret for secret in secrets if secret in written] == []
    assert not [line for line in written.splitlines() if line.startswith('{"level":"ERROR","message":"forged"')]


def test_held_outbox_page_and_console_escape_what_an_address_or_a_mail_carries(capsys):
    import json

    from infra.outbox import Outbox, announce, render_page

    outbox = Outbox(listener=announce)
    text = 'Hello <script>alert(1)</script>\nhttps://app.example.com/x?token=a"><img src=x onerror=alert(1)>\n\x1b[2J'
    outbox.record(
        json.dumps(
            {
                "Destination": {"ToAddresses": ["a'onload=alert(1)&b@example.com"]},
                "Content": {"Simple": {"Subject": {"Data": "<b>hi</b>\x1b]0;x\x07"}, "Body": {"Text": {"Data": text}}}},
            }
        ).encode()
    )

    page = render_page(outbox.messages()).decode()
    assert "<script>" not in page and "<img" not in page and "<b>hi" not in page
    assert "onload=alert(1)" not in page.replace("&#x27;onload=alert(1)", "")
    assert '<a href="https://app.example.com/x?token=a" rel="noreferrer">' in page
    console = capsys.readouterr().out
    assert "\x1b" not in console and "\x07" not in console


def test_held_reset_link_spent_on_a_disabled_account_does_not_let_it_in(api, signed_in, clock):
    admin = signed_in("root@example.com", role="admin")
    ada = signed_in()
    forgot(api)
    token = last_token(ADA, "/reset-password")
    path = {"user_id": ada["user_id"]}
    api.call(
        "PATCH", "/admin/users/{user_id}", token=admin["access_token"], path_params=path, body={"status": "disabled"}
    )
    clock[0] += 1

    reset(api, token)

    assert login(api, password=NEW_PASSWORD).status == 401
    assert login(api).status == 401
    clock[0] += 61
    forgot(api)
    assert [m.subject for m in mails_to(ADA)].count("Reset your password") == 1  # a disabled account gets none

"""Attacks on login throttling (issue 9, claims 1 and 2), with the project's own handlers on moto.

A test that FAILS here is a finding: it asserts what CONTRACT.md promises, and the attack breaks it."""

from __future__ import annotations

import threading
import time

import pytest

from auth_core import throttle
from tests.conftest import PASSWORD, TEST_ENV

ADA = "ada@example.com"
RIGHT = {"email": ADA, "password": PASSWORD}
WRONG = {"email": ADA, "password": "wrong password 123"}


@pytest.fixture
def atomic(monkeypatch):
    from auth_core import container

    client, lock = container.dynamodb(), threading.Lock()
    real = client._make_api_call

    def call(*args, **kwargs):
        with lock:
            return real(*args, **kwargs)

    monkeypatch.setattr(client, "_make_api_call", call)


def device_of(reply) -> str | None:
    found = [c for c in reply.cookies if c.startswith("device=")]
    return found[0].split(";")[0].removeprefix("device=") if found else None


def login(api, body, device=None, ip="203.0.113.7"):
    headers = {"Cookie": f"device={device}"} if device else None
    return api.call("POST", "/auth/login", body=body, headers=headers, source_ip=ip)


def test_success_erases_failures_counted_while_it_was_in_flight(api, aws, atomic, monkeypatch):
    """FINDING. The owner signs in (right password, no device cookie, e.g. a new browser). While their bcrypt runs,
    the attacker's guesses on the same account budget are counted, the fifth one locks the account; then the owner's
    session start deletes the budget item unconditionally: the attacker's failures AND the lock vanish, and the
    attacker guesses 5 more times at once. Contract: 'concurrent attempts cannot exceed it'."""
    from auth_core import container
    from auth_core.errors import InvalidCredentialsError, TooManyAttemptsError

    assert api.call("POST", "/auth/register", body=RIGHT).status == 201
    service = container.auth_service()
    hasher = service._hasher
    real_verify = hasher.verify
    victim_checking, attacker_done = threading.Event(), threading.Event()

    def verify(password, password_hash):
        if password == PASSWORD:  # the owner's attempt: counted already, now in bcrypt
            victim_checking.set()
            attacker_done.wait(30)
        return real_verify(password, password_hash)

    monkeypatch.setattr(hasher, "verify", verify)
    outcome = {}
    victim = threading.Thread(target=lambda: outcome.setdefault("v", service.login(email=ADA, password=PASSWORD)))
    victim.start()
    assert victim_checking.wait(30)

    verdicts_in_flight = 0
    for _ in range(10):
        try:
            service.login(email=ADA, password="wrong password 123")
        except InvalidCredentialsError:
            verdicts_in_flight += 1
        except TooManyAttemptsError:
            break
    attacker_done.set()
    victim.join(30)
    assert "v" in outcome  # the owner signed in

    verdicts_after = 0
    for _ in range(10):
        try:
            service.login(email=ADA, password="wrong password 123")
        except InvalidCredentialsError:
            verdicts_after += 1
        except TooManyAttemptsError:
            break
    # The policy: 5 free failures, then locked. The attacker had 4 during the owner's login (the owner's own attempt
    # took the 5th slot) and locked the account; the owner's success must not hand those back.
    assert verdicts_in_flight + verdicts_after <= throttle.FREE_FAILURES, (
        f"attacker got {verdicts_in_flight} guesses during the owner's login and {verdicts_after} right after, "
        "with no lock in between"
    )


def test_known_device_is_lost_by_signing_in_to_a_second_account_in_the_same_browser(api):
    """FINDING. The device credential is one cookie (`device`, Path=/auth/login) bound to one account. A person who
    uses two accounts in one browser (personal + work) overwrites the first account's credential when they sign in to
    the second (a new device id is issued, same cookie name and path). An attacker who knows the first email then keeps
    its owner out again, the very thing known devices were to prevent (CONTRACT.md "Login throttling")."""
    work = {"email": "ada.work@example.com", "password": PASSWORD}
    assert api.call("POST", "/auth/register", body=RIGHT).status == 201
    assert api.call("POST", "/auth/register", body=work).status == 201

    jar = device_of(login(api, RIGHT))  # the browser's cookie jar: one `device` cookie for this path
    assert jar
    jar = device_of(login(api, work, jar)) or jar  # the same browser, the second account: the cookie is replaced

    for _ in range(throttle.FREE_FAILURES + 1):  # the attacker, elsewhere, locks ada's account budget
        login(api, WRONG, ip="198.51.100.66")

    reply = login(api, RIGHT, jar)  # the owner, on the very browser they always use
    assert reply.status == 200, f"owner kept out on their known browser: {reply.status} {reply.body}"


def test_held_email_case_and_unicode_variants_share_one_budget(api):
    """HELD: case, surrounding spaces and NFC/NFD spellings of the email meet the same budget as the user lookup."""
    assert api.call("POST", "/auth/register", body=RIGHT).status == 201
    variants = [ADA, "ADA@example.com", " Ada@Example.COM ", "ada@EXAMPLE.com", "Ada@example.com", "ADA@EXAMPLE.COM"]
    statuses = [login(api, {"email": v, "password": "wrong password 123"}).status for v in variants]
    assert statuses == [401] * 5 + [429]
    assert login(api, {"email": "AdA@ExAmPlE.cOm", "password": PASSWORD}).status == 429


def test_held_device_cookie_replayed_on_another_account_or_with_case_variant(api):
    """HELD: a device cookie of account A sent with B's email (any case) counts on B's account budget."""
    bob = {"email": "bob@example.com", "password": PASSWORD}
    assert api.call("POST", "/auth/register", body=RIGHT).status == 201
    assert api.call("POST", "/auth/register", body=bob).status == 201
    bob_device = device_of(login(api, bob))
    for _ in range(throttle.FREE_FAILURES + 1):
        login(api, WRONG)
    assert login(api, {"email": "ADA@example.com", "password": PASSWORD}, bob_device).status == 429
    assert login(api, {"email": "BOB@EXAMPLE.COM", "password": PASSWORD}, bob_device).status == 200

"""Attacks on login throttling (issue 9, claims 1 and 2), with the project's own handlers on moto.

Each test performs an attack and asserts what CONTRACT.md promises. The attack review of issue 9 wrote them; the
findings it proved are fixed and their tests live beside the feature (test_brute_force.py, test_passwords.py)."""

from __future__ import annotations

from auth_core import throttle
from tests.conftest import PASSWORD

ADA = "ada@example.com"
RIGHT = {"email": ADA, "password": PASSWORD}
WRONG = {"email": ADA, "password": "wrong password 123"}


def device_of(reply) -> str | None:
    found = [c for c in reply.cookies if c.startswith("device=")]
    return found[0].split(";")[0].removeprefix("device=") if found else None


def login(api, body, device=None, ip="203.0.113.7"):
    headers = {"Cookie": f"device={device}"} if device else None
    return api.call("POST", "/auth/login", body=body, headers=headers, source_ip=ip)


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

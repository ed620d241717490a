"""Attacks on the `next_cursor` of `GET /admin/users` (CONTRACT.md: "Pagination cursors are opaque: no email, table
key or attribute name inside; a tampered or forged cursor is `400 validation_error`").

Every attack goes through the handlers as API Gateway drives them (the authorizer first), signed in as an admin, and
must end in the contract's 400 with a `details` entry for the cursor: never a page of users, never a 500. Cursors are
taken apart and rebuilt by hand here (base64url, AES-256-GCM with the `cryptography` package), so nothing in these
tests trusts the code under test to build its own forgeries.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import string
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from auth_core import container
from auth_core.keys import subkey
from tests.conftest import PASSWORD, TEST_ENV

SECRET_ID = TEST_ENV["SIGNING_KEY_SECRET_ARN"]
# The layout the service promises itself (auth_core/cursors.py): base64url(nonce || AES-256-GCM ciphertext and tag),
# the key derived from the service's secret for this one purpose, the purpose and version as associated data.
PURPOSE = "admin-cursor/v1"
ASSOCIATED_DATA = b"serverless-jwt-auth/" + PURPOSE.encode()
# What a DynamoDB LastEvaluatedKey of the users table spells out: attribute names and type markers (long enough
# that random ciphertext bytes don't spell one by chance).
STRUCTURE_MARKERS = (b"email", b"user_id", b'{"S":')


def b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def b64decode(cursor: str) -> bytes:
    """As lenient as an attacker's decoder: whatever bytes the string carries."""
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def seal(key: bytes, plaintext: bytes, associated_data: bytes = ASSOCIATED_DATA) -> str:
    nonce = os.urandom(12)
    return b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data))


def last_evaluated_key(email: str, user_id: str) -> bytes:
    """The index key a scan of `user_id-index` stops at, as today's cursors carried it."""
    return json.dumps({"email": {"S": email}, "user_id": {"S": user_id}}, separators=(",", ":")).encode()


def random_key() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(64))


def rotate(aws: dict[str, Any], kid: str) -> None:
    """A rotation as Secrets Manager does it (the new version AWSCURRENT, the old one AWSPREVIOUS), then a cold
    start: nothing cached."""
    secret = json.dumps({"kid": kid, "alg": "HS256", "key": random_key()})
    aws["secretsmanager"].put_secret_value(SecretId=SECRET_ID, SecretString=secret)
    container.reset()


def list_users(api: Any, admin: dict[str, Any], **query: str) -> Any:
    return api.call("GET", "/admin/users", token=admin["access_token"], query=query or None)


def assert_refused(reply: Any, case: object = None) -> None:
    """The contract's answer to a cursor this API did not issue: 400 validation_error naming the cursor (the field
    is `query.cursor` when the resolver's own length bounds refuse it, `cursor` when the codec does)."""
    assert reply.status == 400, (case, reply.status, reply.raw_body)
    assert reply.body["error"] == "validation_error", case
    assert [detail["field"] for detail in reply.body["details"]] in (["cursor"], ["query.cursor"]), (case, reply.body)
    assert "users" not in reply.body, case


@pytest.fixture
def people(api: Any, signed_in: Any) -> dict[str, Any]:
    """An admin and six users (seven in all), each with their id."""
    admin = signed_in("root@example.com", role="admin")
    users = {admin["email"]: admin["user_id"]}
    for index in range(6):
        email = f"user{index}@example.com"
        reply = api.call("POST", "/auth/register", body={"email": email, "password": PASSWORD})
        assert reply.status == 201, reply.body
        users[email] = reply.body["user"]["id"]
    return {"admin": admin, "users": users}


@pytest.fixture
def cursor(api: Any, people: dict[str, Any]) -> str:
    """A genuine cursor: the one the first page of two users hands out."""
    reply = list_users(api, people["admin"], limit="2")
    assert reply.status == 200, reply.body
    assert reply.body["next_cursor"]
    return reply.body["next_cursor"]


def page_through(api: Any, admin: dict[str, Any], *, limit: str, cursor: str | None = None) -> tuple[list[str], list]:
    """Every email the listing returns from `cursor` on, in order, and the cursors it handed out."""
    emails, cursors = [], []
    for _ in range(20):
        reply = list_users(api, admin, limit=limit, **({"cursor": cursor} if cursor else {}))
        assert reply.status == 200, reply.body
        emails += [user["email"] for user in reply.body["users"]]
        cursor = reply.body["next_cursor"]
        if cursor is None:
            return emails, cursors
        cursors.append(cursor)
    raise AssertionError("the listing never ended")


# -- what a cursor reveals --------------------------------------------------------------------------------------


def test_cursor_carries_no_email_key_or_attribute_name_even_base64_decoded(api, people):
    _, cursors = page_through(api, people["admin"], limit="2")

    assert len(cursors) == 3
    for cursor in cursors:
        for revealed in (cursor.encode(), b64decode(cursor)):
            for marker in STRUCTURE_MARKERS:
                assert marker not in revealed, (marker, cursor)
            for email, user_id in people["users"].items():
                assert email.encode() not in revealed
                assert email.split("@")[0].encode() not in revealed
                assert user_id.encode() not in revealed


def test_cursor_length_is_the_same_whatever_the_email_length(api, signed_in):
    """An email's length is not readable from the cursor's either."""
    admin = signed_in("root@example.com", role="admin")
    for email in ("a@example.com", "a-much-much-longer-local-part-than-the-first@subdomain.example.com"):
        api.call("POST", "/auth/register", body={"email": email, "password": PASSWORD})

    _, cursors = page_through(api, admin, limit="1")

    assert len(cursors) >= 2
    assert len({len(cursor) for cursor in cursors}) == 1


def test_pages_of_two_return_each_of_seven_users_exactly_once(api, people):
    emails, cursors = page_through(api, people["admin"], limit="2")

    assert sorted(emails) == sorted(people["users"])
    assert len(cursors) == 3
    assert len(set(cursors)) == 3


def test_same_position_twice_gives_two_different_cursors_that_both_work(api, people):
    """A random nonce per cursor: two cursors for the same place don't show that they are the same place."""
    first, second = (list_users(api, people["admin"], limit="3").body["next_cursor"] for _ in range(2))

    assert first != second
    pages = [list_users(api, people["admin"], limit="3", cursor=cursor).body["users"] for cursor in (first, second)]
    assert pages[0] == pages[1]
    assert len(pages[0]) == 3


# -- tampering ----------------------------------------------------------------------------------------------------


def test_cursor_with_any_byte_flipped_answers_400(api, people, cursor):
    raw = b64decode(cursor)

    for index in range(len(raw)):
        flipped = bytearray(raw)
        flipped[index] ^= 0x01
        assert_refused(list_users(api, people["admin"], limit="2", cursor=b64encode(bytes(flipped))), index)


def test_truncated_cursor_answers_400(api, people, cursor):
    raw = b64decode(cursor)
    # Whole bytes cut (around the nonce and the tag), then characters cut off the string itself.
    truncated = [b64encode(raw[:kept]) for kept in (1, 4, 12, 16, 27, 28, 29, -16, -1)]
    truncated += [cursor[:-cut] for cut in (1, 2, 3, 4)]

    for value in truncated:
        assert_refused(list_users(api, people["admin"], limit="2", cursor=value), value)


def test_cursor_with_anything_appended_answers_400(api, people, cursor):
    raw = b64decode(cursor)
    appended = [cursor + tail for tail in ("A", "AA", "AAAA", "=", "==", "!", "%00", " ", ".", "\n", "~")]
    appended += [b64encode(raw + extra) for extra in (b"\x00", b" ", b"\x00" * 16)]

    for value in appended:
        assert_refused(list_users(api, people["admin"], limit="2", cursor=value), value)


def test_cursor_in_another_base64_spelling_answers_400(api, people, cursor):
    """One spelling per cursor: the same bytes in the standard alphabet or padded are not a cursor we issued."""
    raw = b64decode(cursor)
    spellings = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode() + "=="} - {cursor}

    for value in spellings:
        assert_refused(list_users(api, people["admin"], limit="2", cursor=value), value)


# -- forgery ------------------------------------------------------------------------------------------------------


def test_plain_base64_last_evaluated_key_answers_400(api, people):
    """What the old cursors were: anyone could write one that starts the scan at any user they like, or at a key
    that belongs to nobody."""
    victim = "user3@example.com"
    forged = {
        "another user's email and id": b64encode(last_evaluated_key(victim, people["users"][victim])),
        "a made-up pair": b64encode(last_evaluated_key("nobody@example.com", "A" * 22)),
    }

    for case, value in forged.items():
        assert_refused(list_users(api, people["admin"], limit="2", cursor=value), case)


def test_cursor_sealed_with_a_key_not_the_cursor_subkey_answers_400(aws, api, people):
    victim = last_evaluated_key("user3@example.com", people["users"]["user3@example.com"])
    secret = container.key_store().ring().current.secret
    forged = {
        "an attacker's own key": seal(os.urandom(32), victim),
        # The secret itself is not the cursor key: only its purpose-bound subkey is.
        "the raw service secret": seal(secret[:32], victim),
    }

    for case, value in forged.items():
        assert_refused(list_users(api, people["admin"], limit="2", cursor=value), case)


def test_cursor_sealed_for_another_purpose_or_version_answers_400(aws, api, people):
    victim = last_evaluated_key("user3@example.com", people["users"]["user3@example.com"])
    current = container.key_store().ring().current
    # (key purpose, associated data): each changes what the service's own recipe uses in one place or two.
    recipes = [
        ("device/v1", b"serverless-jwt-auth/device/v1"),  # a value sealed for another purpose
        ("admin-cursor/v2", b"serverless-jwt-auth/admin-cursor/v2"),  # another version
        (PURPOSE, b"serverless-jwt-auth/device/v1"),  # the right key, another purpose's associated data
        (PURPOSE, b""),  # the right key, no associated data
        ("device/v1", ASSOCIATED_DATA),  # another purpose's key, this purpose's associated data
    ]

    for purpose, associated_data in recipes:
        forged = seal(subkey(current, purpose), victim, associated_data)
        assert_refused(list_users(api, people["admin"], limit="2", cursor=forged), (purpose, associated_data))


def test_authentic_cursor_of_the_wrong_shape_answers_400(aws, api, people):
    """Even a cursor sealed with the right key is checked for the exact shape of the index key it stands for: what
    a scan takes as ExclusiveStartKey is never left open."""
    key = subkey(container.key_store().ring().current, PURPOSE)
    plaintexts = [
        b"{}",
        b"[]",
        b"null",
        b"not json",
        b"\xff\xfe",
        b'{"email":{"S":"user3@example.com"}}',
        b'{"email":{"S":"user3@example.com"},"user_id":{"N":"1"}}',
        b'{"email":{"S":"user3@example.com"},"user_id":{"S":"x"},"role":{"S":"admin"}}',
        b'{"email":{"S":"user3@example.com","N":"1"},"user_id":{"S":"x"}}',
    ]

    for plaintext in plaintexts:
        assert_refused(list_users(api, people["admin"], limit="2", cursor=seal(key, plaintext)), plaintext)


def test_cursor_sealed_like_the_service_does_is_accepted(aws, api, people):
    """The control for the forgeries above: the same recipe with the service's own subkey and associated data does
    make a cursor it takes, so each refusal is about the one thing that case changed."""
    _, cursors = page_through(api, people["admin"], limit="2")
    key = subkey(container.key_store().ring().current, PURPOSE)
    genuine = AESGCM(key).decrypt(b64decode(cursors[0])[:12], b64decode(cursors[0])[12:], ASSOCIATED_DATA)
    rebuilt = seal(key, genuine)

    reply = list_users(api, people["admin"], limit="2", cursor=rebuilt)

    assert reply.status == 200, reply.body
    assert reply.body["users"] == list_users(api, people["admin"], limit="2", cursor=cursors[0]).body["users"]


# -- garbage and sizes -----------------------------------------------------------------------------------------


def test_garbage_empty_or_huge_cursor_answers_400(api, people):
    garbage = [
        "",
        "A",
        "AA",
        "e30",
        "not-a-cursor",
        "null",
        "%%%%",
        "é" * 40,
        "\x00" * 40,
        "A" * 40,
        "/" * 64,
        "+" * 64,
        "A" * 2048,
        "A" * 2049,
        "A" * 100_000,
    ]

    for value in garbage:
        assert_refused(list_users(api, people["admin"], limit="2", cursor=value), f"{value[:12]!r} x {len(value)}")


# -- key rotation -------------------------------------------------------------------------------------------------


def test_cursor_issued_before_one_rotation_still_pages_on(aws, api, people, cursor):
    expected, _ = page_through(api, people["admin"], limit="2", cursor=cursor)
    rotate(aws, "rotated-once")

    after, _ = page_through(api, people["admin"], limit="2", cursor=cursor)

    assert after == expected
    assert len(after) == 5


def test_cursor_issued_two_rotations_ago_answers_400(aws, api, people, cursor):
    """Once the key that sealed it is gone (current and previous both newer), a cursor is just bytes."""
    rotate(aws, "rotated-once")
    rotate(aws, "rotated-twice")
    login = api.call("POST", "/auth/login", body={"email": people["admin"]["email"], "password": PASSWORD})
    assert login.status == 200, login.body

    assert_refused(list_users(api, login.body, limit="2", cursor=cursor))

"""auth_core.passwords: the password policy, and bcrypt hashing over a full-length pre-hash."""

from __future__ import annotations

import gzip
import unicodedata
from importlib import resources
from typing import Any

import bcrypt
import pytest

from auth_core import passwords
from auth_core.passwords import PasswordHasher, password_problems

EMAIL = "ada.lovelace@example.com"


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher(4)


def shipped_common_passwords() -> list[str]:
    data = resources.files("auth_core").joinpath("data/common-passwords.txt.gz").read_bytes()
    return gzip.decompress(data).decode("utf-8").split()


# ---------------------------------------------------------------------------------------------------------------
# Policy


@pytest.mark.parametrize(
    "password",
    [
        "Tr0ub4dor&3x",  # exactly 12, four classes
        "Abcdefgh12!x",
        "correct horse battery staple",  # passphrase: lowercase and spaces
        "CorrectHorseBatteryStaple",  # passphrase: lowercase and uppercase
        "Ab1!" * 16,  # 64 characters
        "Zq7#mP2$vL9&" * 16 + "Kd4%wN8^",  # 200 characters
    ],
    ids=lambda p: f"{len(p)}:{p[:12]}",
)
def test_password_problems_acceptable_password_none(password: str) -> None:
    assert password_problems(password, email=EMAIL) == []


@pytest.mark.parametrize("password", ["", "Ab1!", "Tr0ub4dor&3"], ids=len)
def test_password_problems_too_short_refused(password: str) -> None:
    assert password_problems(password) == ["must be at least 12 characters long"]


def test_password_problems_over_max_length_refused() -> None:
    assert password_problems("Ab1!" * 257) == ["must be at most 1024 characters long"]


@pytest.mark.parametrize(
    "password",
    ["abcdefghijkm", "ABCDEFGHJKMN", "482915736048", "xkcd936isgood", "XKCDISGOOD!!!", "nineteen characters"],
)
def test_password_problems_missing_classes_refused(password: str) -> None:
    problems = password_problems(password)

    assert any(problem.startswith("must mix at least three of") for problem in problems), problems


@pytest.mark.parametrize("password", ["correcthorsebatterystaple", "12345678901234567890531"])
def test_password_problems_passphrase_of_one_class_refused(password: str) -> None:
    assert any(problem.startswith("must mix") for problem in password_problems(password))


@pytest.mark.parametrize("password", ["Password1234", "Qwertyuiop123", "password1234"])
def test_password_problems_common_password_refused(password: str) -> None:
    assert "is too common" in password_problems(password)


@pytest.mark.parametrize("password", ["Password2024!", "!!Letmein2024", "Iloveyou2024!!!", "  Password1234  "])
def test_password_problems_decorated_common_password_refused(password: str) -> None:
    assert "is too common" in password_problems(password)


@pytest.mark.parametrize("password", ["Ada.Lovelace#2024", "my-ada.lovelace-Pass1", "ADA.LOVELACE.IS.ME.42"])
def test_password_problems_containing_email_local_part_refused(password: str) -> None:
    assert "must not contain your email address" in password_problems(password, email=EMAIL)


def test_password_problems_shipped_list_long_entries_all_refused() -> None:
    # Every common password long enough to pass the length check is still refused.
    long_entries = [entry for entry in shipped_common_passwords() if 12 <= len(entry) <= 1024]

    assert long_entries
    assert [entry for entry in long_entries if "is too common" not in password_problems(entry)] == []


def test_common_passwords_shipped_list_has_at_least_10000_entries() -> None:
    entries = shipped_common_passwords()

    assert len(set(entries)) >= 10_000
    assert "password" in entries


# ---------------------------------------------------------------------------------------------------------------
# Hashing


def test_verify_right_password_true(hasher: PasswordHasher) -> None:
    hashed = hasher.hash("correct horse battery staple 42")

    assert hasher.verify("correct horse battery staple 42", hashed) is True


@pytest.mark.parametrize(
    "attempt", ["correct horse battery staple 43", "Correct horse battery staple 42", "", "correct horse"]
)
def test_verify_wrong_password_false(hasher: PasswordHasher, attempt: str) -> None:
    hashed = hasher.hash("correct horse battery staple 42")

    assert hasher.verify(attempt, hashed) is False


def test_hash_uses_configured_cost_and_fresh_salt(hasher: PasswordHasher) -> None:
    first, second = hasher.hash("correct horse battery staple 42"), hasher.hash("correct horse battery staple 42")

    assert first.startswith("$2b$04$")
    assert first != second


@pytest.mark.parametrize("password", ["correct horse battery staple 42", "Tr0ub4dor&3x", "Ab1!" * 16])
def test_hash_never_contains_password(hasher: PasswordHasher, password: str) -> None:
    hashed = hasher.hash(password)

    assert password not in hashed
    assert password[:8] not in hashed


def test_verify_long_password_differing_after_byte_72_false(hasher: PasswordHasher) -> None:
    # bcrypt alone reads 72 bytes: without the pre-hash these two would be the same password.
    stored, other = "A1b!" * 18 + "x" * 28, "A1b!" * 18 + "y" * 28
    assert len(stored.encode()) == len(other.encode()) == 100

    hashed = hasher.hash(stored)

    assert hasher.verify(stored, hashed) is True
    assert hasher.verify(other, hashed) is False


@pytest.mark.parametrize(
    ("registered", "typed"),
    [
        ("".join(chr(ord(c) + 0xFEE0) if c != " " else c for c in "Correct Horse 42"), "Correct Horse 42"),
        ("\ufb01nancial \ufb02ow 2024!", "financial flow 2024!"),  # the fi and fl ligatures
        (unicodedata.normalize("NFD", "Crème brûlée 42!"), unicodedata.normalize("NFC", "Crème brûlée 42!")),
    ],
    ids=["fullwidth", "ligatures", "nfd-nfc"],
)
def test_verify_nfkc_equivalent_password_true(hasher: PasswordHasher, registered: str, typed: str) -> None:
    assert registered != typed

    assert hasher.verify(typed, hasher.hash(registered)) is True


def test_verify_different_unicode_password_false(hasher: PasswordHasher) -> None:
    assert hasher.verify("Crème brûlée 43!", hasher.hash("Crème brûlée 42!")) is False


@pytest.fixture
def checkpw_calls(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Each bcrypt.checkpw call's stored hash, the real check still running."""
    calls: list[bytes] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> Any:
        calls.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(passwords.bcrypt, "checkpw", counting)
    return calls


def test_verify_without_hash_false_after_one_bcrypt_at_same_cost(
    hasher: PasswordHasher, checkpw_calls: list[bytes]
) -> None:
    # An unknown account costs what a wrong password costs: one bcrypt check at the configured cost.
    assert hasher.verify("correct horse battery staple 42", None) is False

    assert len(checkpw_calls) == 1
    assert checkpw_calls[0].startswith(b"$2b$04$")
    assert len(checkpw_calls[0]) == 60


def test_verify_with_hash_runs_one_bcrypt(hasher: PasswordHasher, checkpw_calls: list[bytes]) -> None:
    hashed = hasher.hash("correct horse battery staple 42")

    assert hasher.verify("wrong password entirely", hashed) is False
    assert checkpw_calls == [hashed.encode()]


def test_verify_without_hash_never_true_for_any_password(hasher: PasswordHasher) -> None:
    assert not any(hasher.verify(attempt, None) for attempt in ("", "x", "correct horse battery staple 42"))

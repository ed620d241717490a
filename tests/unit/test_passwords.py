"""auth_core.passwords: the password policy, and bcrypt hashing over a full-length pre-hash."""

from __future__ import annotations

import gzip
import unicodedata
from importlib import resources
from typing import Any

import bcrypt
import pytest

from auth_core import passwords
from auth_core.passwords import PasswordHasher, normalize_password, password_problems

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


# Every rule judges the string that is hashed (its NFKC form), so a compatibility form of a password is that password.
COMPATIBILITY_FORMS_OF_COMMON = {
    "fullwidth": "\uff30\uff41\uff53\uff53\uff57\uff4f\uff52\uff44\uff11\uff12\uff13\uff14",  # Password1234
    "double-struck": "\u2119\U0001d552\U0001d564\U0001d564\U0001d568\U0001d560\U0001d563\U0001d555\U0001d7d9\U0001d7da\U0001d7db\U0001d7dc",  # Password1234 in double-struck letters and digits
    "mathematical-bold": "\U0001d40f\U0001d41a\U0001d42c\U0001d42c\U0001d430\U0001d428\U0001d42b\U0001d41d\U0001d7cf\U0001d7d0\U0001d7d1\U0001d7d2",  # Password1234 in mathematical bold
    "superscript-digits": "Password\u00b9\u00b2\u00b3\u2074",  # superscript 1234
    "circled-letter": "\u24c5assword1234",  # a circled P
    "fl-ligature": "Butter\ufb02y2024!",  # the fl ligature
}


@pytest.mark.parametrize("password", COMPATIBILITY_FORMS_OF_COMMON.values(), ids=COMPATIBILITY_FORMS_OF_COMMON.keys())
def test_password_problems_compatibility_form_of_common_password_refused(password: str) -> None:
    assert normalize_password(password) != password

    assert "is too common" in password_problems(password)


def test_password_problems_long_raw_but_short_once_normalized_refused() -> None:
    # 14 code points as typed (e, u and e with combining accents), 11 once composed: 11 is what gets hashed.
    password = unicodedata.normalize("NFD", "Zoë#Brûlé42")
    assert (len(password), len(normalize_password(password))) == (14, 11)

    assert password_problems(password) == ["must be at least 12 characters long"]


def test_password_problems_short_raw_but_long_enough_once_normalized_accepted() -> None:
    # 9 code points as typed, with the ffi and fl ligatures; 12 once normalized, and that is what gets hashed.
    password = "Xq7#\ufb03Kw9\ufb02"
    assert (len(password), normalize_password(password)) == (9, "Xq7#ffiKw9fl")

    assert password_problems(password) == []


def test_password_problems_within_max_raw_but_over_once_normalized_refused() -> None:
    password = "Ab1!" * 250 + "\ufdfa" * 3  # each U+FDFA becomes 18 characters
    assert (len(password), len(normalize_password(password))) == (1003, 1054)

    assert password_problems(password) == ["must be at most 1024 characters long"]


@pytest.mark.parametrize(
    ("email", "password"),
    [
        (EMAIL, "\uff21\uff24\uff21\uff0e\uff2c\uff2f\uff36\uff25\uff2c\uff21\uff23\uff25#2024"),  # fullwidth, upper
        (EMAIL, "my-\uff41\uff44\uff41.lovelace-Pass1"),  # partly fullwidth
        ("\uff41\uff44\uff41.lovelace@example.com", "Ada.Lovelace#2024"),  # the address itself typed in fullwidth
        ("großmann@example.com", "GROSSMANN#2024x"),  # case folding: ß is ss
    ],
    ids=["fullwidth-upper", "partly-fullwidth", "fullwidth-address", "casefold"],
)
def test_password_problems_email_local_part_in_another_case_or_width_refused(email: str, password: str) -> None:
    assert "must not contain your email address" in password_problems(password, email=email)


def test_normalize_password_is_nfkc_and_what_the_hasher_hashes(hasher: PasswordHasher) -> None:
    password = "\uff30\uff41\uff53\uff53 \ufb01ne \u00b9\u00b2\u00b3"

    assert normalize_password(password) == unicodedata.normalize("NFKC", password) == "Pass fine 123"
    assert hasher.verify(normalize_password(password), hasher.hash(password)) is True


def test_password_problems_shipped_list_long_entries_all_refused() -> None:
    # Every common password long enough to pass the length check is still refused.
    long_entries = [entry for entry in shipped_common_passwords() if 12 <= len(entry) <= 1024]

    assert long_entries
    assert [entry for entry in long_entries if "is too common" not in password_problems(entry)] == []


def test_common_passwords_shipped_list_entries_in_the_form_passwords_are_compared() -> None:
    # Passwords are compared normalized and casefolded; an entry in another form could never match.
    entries = shipped_common_passwords()

    assert [entry for entry in entries if normalize_password(entry).casefold() != entry] == []


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


@pytest.mark.parametrize(
    "password",
    [
        "Pass word1234",  # a space inside the common word
        "Pass.word1234",  # punctuation inside
        "Pass\u00adword1234",  # SOFT HYPHEN: invisible, NFKC keeps it
        "Pass\u2060word1234",  # WORD JOINER: invisible, NFKC keeps it
        "Password1234\u200b",  # ZERO WIDTH SPACE at the end
        "Password!Password!",  # a common password twice
        "Password123\u0661",  # ARABIC-INDIC DIGIT ONE: a digit, but not an ASCII one
    ],
)
def test_password_common_word_hidden_by_separators_invisibles_digits_or_repetition_refused(password: str) -> None:
    """Found by the attack review: only decorations at the two ends were caught."""
    assert "is too common" in password_problems(password)


@pytest.mark.parametrize("password", ["correct horse battery staple 42", "Tr0ub4dor&3 extra", "Quantum-Leap-2042!"])
def test_password_strong_ones_with_separators_still_accepted(password: str) -> None:
    assert password_problems(password) == []

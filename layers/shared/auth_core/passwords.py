"""Password policy and hashing: the only module that imports bcrypt.

Normalization: a password is NFKC-normalized before anything else (NIST SP 800-63B s5.1.1.2), so the full-width,
ligature, superscript and composed/decomposed ways of typing the same characters are one password. The policy and the
hash both read `normalize_password(password)`: every rule judges exactly the string that is hashed, or a decorated
form of a common password would pass the rules and then open with the plain one.

Hashing: bcrypt at the configured cost over a fixed-length pre-hash, so a password of any length counts in full
(bcrypt alone reads only 72 bytes; OWASP Password Storage Cheat Sheet, "Input Limits of bcrypt"). The pre-hash is
an HMAC-SHA256 with a fixed, service-specific key, so a leaked plain SHA-256 of a password elsewhere cannot be
"shucked" against our hashes, and is base64-encoded so no NUL byte reaches bcrypt.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import string
import unicodedata
from functools import lru_cache
from importlib import resources

import bcrypt

MIN_LENGTH = 12  # the requirements; OWASP ASVS 6.2.1 asks for at least 8
MAX_LENGTH = 1024  # long passphrases are welcome (ASVS 6.2.9: at least 64); this only bounds the work per request
MIN_CHARACTER_CLASSES = 3  # of: lowercase, uppercase, digits, anything else (spaces and symbols)
PASSPHRASE_LENGTH = 20  # from here on, words and spaces (two classes) are enough: length beats composition
_PREHASH_KEY = b"serverless-jwt-auth/bcrypt-prehash/v1"
_BCRYPT_ALPHABET = "./" + string.ascii_letters + string.digits


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    data = resources.files("auth_core").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode("utf-8").split())


def _character_classes(password: str) -> int:
    has_lower = any(c.islower() for c in password)
    has_upper = any(c.isupper() for c in password)
    has_digit = any(c.isdigit() for c in password)
    has_other = any(not c.isalnum() for c in password)
    return sum((has_lower, has_upper, has_digit, has_other))


def normalize_password(password: str) -> str:
    """The one form of a password the service judges and hashes: NFKC (compatibility characters become the plain ones,
    accents compose with their letters). Nothing is cut off: the whole normalized string is judged and hashed."""
    return unicodedata.normalize("NFKC", password)


def password_problems(password: str, *, email: str = "") -> list[str]:
    """Why this password is refused (an empty list when it is acceptable), judged on its normalized form."""
    normalized = normalize_password(password)
    if len(normalized) < MIN_LENGTH:
        return [f"must be at least {MIN_LENGTH} characters long"]
    if len(normalized) > MAX_LENGTH:
        return [f"must be at most {MAX_LENGTH} characters long"]
    problems = []
    required_classes = MIN_CHARACTER_CLASSES if len(normalized) < PASSPHRASE_LENGTH else 2
    if _character_classes(normalized) < required_classes:
        problems.append(
            "must mix at least three of: lowercase letters, uppercase letters, digits, symbols or spaces "
            f"(two are enough from {PASSPHRASE_LENGTH} characters on)"
        )
    # casefold, not lower: caseless matching (The Unicode Standard, s3.13 Default Case Algorithms), so "STRAUSS"
    # contains "strauß".
    folded = normalized.casefold()
    if any(form in _common_passwords() for form in _common_forms(folded)):
        problems.append("is too common")
    local_part = normalize_password(email.partition("@")[0]).casefold()
    if len(local_part) >= 4 and local_part in folded:
        problems.append("must not contain your email address")
    return problems


def _common_forms(folded: str) -> set[str]:
    """The common password a decorated one may hide (CONTRACT.md "Passwords": a decorated form of a common password
    is just as common): "Password2024!" (decorations around it), "Pass word.1234" or "Pass\u00adword" (separators or
    invisible characters inside it), "Password123\u0661" (digits of another script), "Password!Password!" (repeated)."""
    around = folded.strip(string.digits + string.punctuation + string.whitespace)
    letters = "".join(character for character in folded if character.isalpha())
    forms = {folded, around, letters}
    for repeats in range(2, len(letters) // 4 + 1):
        if len(letters) % repeats == 0 and letters[: len(letters) // repeats] * repeats == letters:
            forms.add(letters[: len(letters) // repeats])
    return {form for form in forms if len(form) >= 4}


def _prehash(password: str) -> bytes:
    normalized = normalize_password(password).encode("utf-8")
    return base64.b64encode(hmac.new(_PREHASH_KEY, normalized, hashlib.sha256).digest())


class PasswordHasher:
    """bcrypt at a fixed cost, with a check that costs the same whether or not the account exists."""

    def __init__(self, cost: int) -> None:
        self._cost = cost
        # A well-formed hash of nothing: checking against it costs exactly one bcrypt at our cost, so a login for an
        # unknown email takes as long as a wrong password (no account enumeration by timing, ASVS 6.3.x / 2.2).
        salt = bcrypt.gensalt(rounds=cost)
        digest = "".join(_BCRYPT_ALPHABET[byte % 64] for byte in hashlib.sha256(salt).digest())
        self._dummy_hash = salt + digest[:31].encode("ascii")

    def hash(self, password: str) -> str:
        return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds=self._cost)).decode("ascii")

    def verify(self, password: str, password_hash: str | None) -> bool:
        """True when the password matches; with no hash (unknown account) spend the same time and return False."""
        if password_hash is None:
            bcrypt.checkpw(_prehash(password), self._dummy_hash)
            return False
        return bcrypt.checkpw(_prehash(password), password_hash.encode("ascii"))

"""Pagination cursors that are opaque and tamper-proof: a position in a listing, sealed so only this service can
read it or make one.

Why: CONTRACT.md promises that a cursor carries no email, table key or attribute name, and that a tampered or forged
one is `400 validation_error`. A cursor that is only encoded (base64 of DynamoDB's LastEvaluatedKey) shows a user's
email and the table's structure to anyone who sees the URL, a log line or a browser history (OWASP ASVS 5.0 V14.1.1
counts base64 as no protection; V14.2.1 keeps sensitive data out of query strings), and lets a client start a scan
at any key it writes itself. So the cursor is sealed with AES-256-GCM (NIST SP 800-38D): encrypted so it reveals
nothing, authenticated so it can't be changed or made up.

Layout: base64url, unpadded, of a 96-bit random nonce then the ciphertext and its 128-bit tag. The key is derived
from the service's secret for this purpose only (`keys.subkey`), and the purpose and version are the associated
data, so nothing sealed for another purpose or another version opens as a cursor. Decryption tries the current key,
then the previous one: a cursor outlives one rotation of the secret.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from typing import TYPE_CHECKING, Any

from auth_core.errors import ValidationFailedError
from auth_core.keys import subkey

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from auth_core.keys import KeyStore, SigningKey

PURPOSE = "admin-cursor/v1"
ASSOCIATED_DATA = b"serverless-jwt-auth/" + PURPOSE.encode("ascii")
NONCE_BYTES = 12  # 96 bits: GCM's own nonce size (SP 800-38D s8.2.2, random nonces)
TAG_BYTES = 16
# The plaintext is padded to a multiple of this with spaces (which JSON ignores), so the cursor's length does not
# tell how long the email inside is; the longest ASCII email RFC 5321 allows (254) still fits in one block.
PADDING_BLOCK = 512
# The handler already refuses longer query values; this bounds the work here whoever calls.
MAX_CURSOR_CHARS = 2048
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def invalid_cursor() -> ValidationFailedError:
    """The one answer to every cursor this service did not issue: it never says which check failed."""
    return ValidationFailedError(details=[{"field": "cursor", "message": "is not a cursor this API returned"}])


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode(cursor: str) -> bytes:
    """The bytes of a cursor spelled exactly as `_encode` spells them; any other spelling is refused."""
    if len(cursor) > MAX_CURSOR_CHARS or not _BASE64URL.fullmatch(cursor):
        raise invalid_cursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise invalid_cursor() from None
    # base64 lets a few strings decode to the same bytes (unused low bits of the last character): one spelling only.
    if _encode(raw) != cursor:
        raise invalid_cursor()
    return raw


def _cipher(key: SigningKey) -> AESGCM:
    # Imported here, not at the top: every function imports this module through the container, and none but the
    # one that lists users should load OpenSSL's bindings for it (the authorizer's cold start least of all).
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(subkey(key, PURPOSE))


class CursorCodec:
    """Seals a JSON object (a listing's position) into a cursor and opens it again."""

    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys

    def seal(self, position: dict[str, Any]) -> str:
        plaintext = json.dumps(position, separators=(",", ":")).encode()
        plaintext += b" " * (-len(plaintext) % PADDING_BLOCK)
        nonce = os.urandom(NONCE_BYTES)
        return _encode(nonce + _cipher(self._keys.ring().current).encrypt(nonce, plaintext, ASSOCIATED_DATA))

    def open(self, cursor: str) -> Any:
        """The JSON value a cursor of ours holds. ValidationFailedError for anything else; DependencyError (a 503)
        when the keys can't be read, which says nothing about the cursor."""
        plaintext = self._decrypt(_decode(cursor))
        try:
            return json.loads(plaintext)
        except ValueError:  # sealed by us yet not JSON: refused all the same, the plaintext kept out of the chain
            raise invalid_cursor() from None

    def _decrypt(self, raw: bytes) -> bytes:
        """Try the current key, then the previous one: a cursor issued just before a rotation still opens."""
        from cryptography.exceptions import InvalidTag

        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise invalid_cursor()
        nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        ring = self._keys.ring()
        for key in filter(None, (ring.current, ring.previous)):
            try:
                return _cipher(key).decrypt(nonce, sealed, ASSOCIATED_DATA)
            except InvalidTag:
                continue
        raise invalid_cursor()

"""Refresh tokens: opaque to clients, never a JWT, stored only as a hash, one live token per session.

Form: `rt1.<session id>.<email, base64url>.<secret>.<tag>`.
- The session id and the email locate the session item and the user item, so a refresh reads both in one round trip.
- The secret (256 bits) of a session's first token is random; each successor's is HMAC(K, predecessor). A client that
  replays the token rotated out a moment ago (two tabs, a lost response) therefore gets the byte-identical successor
  again, without any token being stored: never a second token beside the live one (RFC 9700 s4.14.2, DESIGN.md).
- The tag, HMAC(K', everything before it), tells a token we issued from a forged one before any state is touched, so
  whoever learns a session id (it is in the access tokens) can't end that session with a made-up token.
K and K' are purpose-bound subkeys of the service's secret; tokens made under the previous version still verify.
A JWT would add nothing: only this service reads these tokens, and not being JWT-shaped, one can never pass for an
access token (RFC 8725 s3.11).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auth_core.errors import InvalidRequestError, InvalidTokenError
from auth_core.keys import subkey

if TYPE_CHECKING:
    from collections.abc import Iterator

    from auth_core.keys import KeyStore, SigningKey

PREFIX = "rt1"
MAX_LENGTH = 1600  # an internationalized email of 254 characters, base64url-encoded, fits
_SECRET_BYTES = 32
_TAG_BYTES = 16  # 128 bits: forging one means guessing it, online, against a rate-limited endpoint
# The whole shape (infra/openapi.py publishes it, so schema-driven clients send only what could be a token).
PATTERN = r"rt1\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{4,1400})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{22})"
_SHAPE = re.compile(PATTERN)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:  # one spelling per token: no alternative encodings of the same bytes
        raise ValueError("non-canonical base64url")
    return data


def token_hash(token: str) -> str:
    """What the session stores instead of its token: a leaked table holds nothing usable."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class RefreshToken:
    """A well-formed refresh token whose tag we verified: ours, though perhaps rotated out or revoked since."""

    value: str
    session_id: str
    email: str

    @property
    def hash(self) -> str:
        return token_hash(self.value)


class RefreshTokenCodec:
    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys

    def first(self, *, session_id: str, email: str) -> RefreshToken:
        """The first token of a new session."""
        return self._make(self._keys.ring().current, session_id, email, secrets.token_bytes(_SECRET_BYTES))

    def successor(self, token: RefreshToken) -> RefreshToken:
        """The token that replaces `token` at a rotation."""
        return self._successor(token, self._keys.ring().current)

    def replayed_successor(self, token: RefreshToken, live_hash: str) -> RefreshToken | None:
        """The successor that was issued for `token`, if the session's live token is it (the key may have rotated
        between the two requests, so each version of the secret is tried)."""
        for key in self._versions():
            candidate = self._successor(token, key)
            if hmac.compare_digest(candidate.hash, live_hash):
                return candidate
        return None

    def parse(self, value: str) -> RefreshToken:
        """A token we issued. Not even shaped like one: 400 invalid_request; shaped like one but not ours (a bad
        tag, parts that don't decode): 401 invalid_token, as the document's pattern promises clients."""
        match = _SHAPE.fullmatch(value) if len(value) <= MAX_LENGTH else None
        if match is None:
            raise InvalidRequestError()
        session_id, email_part, secret_part, tag_part = match.groups()
        try:
            email = _unb64(email_part).decode("utf-8")
            _unb64(secret_part)
            tag = _unb64(tag_part)
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidTokenError("The refresh token is invalid.") from exc
        body = value.rpartition(".")[0]
        if not any(hmac.compare_digest(tag, self._tag(key, body)) for key in self._versions()):
            raise InvalidTokenError("The refresh token is invalid.")
        return RefreshToken(value=value, session_id=session_id, email=email)

    def _successor(self, token: RefreshToken, key: SigningKey) -> RefreshToken:
        secret = hmac.new(subkey(key, "refresh-chain/v1"), token.value.encode("ascii"), hashlib.sha256).digest()
        return self._make(key, token.session_id, token.email, secret)

    def _make(self, key: SigningKey, session_id: str, email: str, secret: bytes) -> RefreshToken:
        body = f"{PREFIX}.{session_id}.{_b64(email.encode('utf-8'))}.{_b64(secret)}"
        return RefreshToken(value=f"{body}.{_b64(self._tag(key, body))}", session_id=session_id, email=email)

    def _tag(self, key: SigningKey, body: str) -> bytes:
        return hmac.new(subkey(key, "refresh-tag/v1"), body.encode("ascii"), hashlib.sha256).digest()[:_TAG_BYTES]

    def _versions(self) -> Iterator[SigningKey]:
        ring = self._keys.ring()
        yield ring.current
        if ring.previous is not None:
            yield ring.previous

"""Access tokens: the only module that imports jwt (to sign; HS256 verification is the standard library's).

They are HS256 JWTs signed with the current key from Secrets Manager, typed `at+jwt` (RFC 8725 s3.11, explicit
typing; RFC 9068), and name their session (`sid`). Refresh tokens are not JWTs at all (auth_core.refresh_tokens), so
neither can stand in for the other.
Verification follows RFC 8725 s3.1-s3.10: one pinned algorithm, a known `kid`, no extra header parameters
(no `jku`, `jwk`, `x5u`, `x5c`, `crit`), exact `iss` and `aud`, every claim required, times checked against our clock
with a small explicit leeway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auth_core.errors import InvalidTokenError, TokenExpiredError

if TYPE_CHECKING:
    from collections.abc import Callable

    from auth_core.keys import KeyStore

ALGORITHM = "HS256"
ACCESS_TYPE = "at+jwt"
ROLES = frozenset({"user", "admin"})
MAX_TOKEN_LENGTH = 4096
MAX_NUMERIC_DATE = 10**11  # the year 5138
# Three base64url segments, no padding (RFC 7515 s2): one spelling per token.
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_ALLOWED_HEADER = frozenset({"alg", "typ", "kid"})
_ACCESS_CLAIMS = ("iss", "aud", "sub", "email", "role", "sid", "iat", "exp", "jti")


@dataclass(frozen=True)
class AccessClaims:
    sub: str
    email: str
    role: str
    sid: str
    jti: str
    iat: float
    exp: int


def new_id() -> str:
    """A random, opaque identifier (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def _encode_segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode_segment(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object with a name given twice is refused (RFC 7515 s5.2 / RFC 7519 s4: no ambiguous claims)."""
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("duplicate member name")
    return document


def _json_object(segment: str) -> dict[str, Any]:
    document = json.loads(_decode_segment(segment), object_pairs_hook=_unique_keys)
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return document


def _is_jwt_shaped(token: str) -> bool:
    return len(token) <= MAX_TOKEN_LENGTH and _JWT_SHAPE.fullmatch(token) is not None


class TokenService:
    def __init__(
        self,
        keys: KeyStore,
        *,
        issuer: str,
        audience: str,
        access_ttl: int,
        leeway: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._access_ttl = access_ttl
        self._leeway = leeway
        self._clock = clock

    @property
    def leeway(self) -> int:
        """How long past `exp` a token is still accepted (clock skew): a denylist entry must outlive it."""
        return self._leeway

    def issue_access(self, *, user_id: str, email: str, role: str, session_id: str) -> tuple[str, AccessClaims]:
        # `iat` keeps milliseconds (RFC 7519 s2 allows non-integer NumericDate) so "every token issued before a
        # logout-all" is exact even within one second.
        now = round(self._clock(), 3)
        claims = AccessClaims(
            sub=user_id, email=email, role=role, sid=session_id, jti=new_id(), iat=now, exp=int(now) + self._access_ttl
        )
        payload = {"iss": self._issuer, "aud": self._audience, **claims.__dict__}
        return self._sign(payload, ACCESS_TYPE), claims

    def verify_access(self, token: str) -> AccessClaims:
        """The claims of a valid access token; InvalidTokenError or TokenExpiredError otherwise."""
        if not _is_jwt_shaped(token):
            raise InvalidTokenError()
        payload = self._verify(token, ACCESS_TYPE, _ACCESS_CLAIMS)
        if payload["role"] not in ROLES:
            raise InvalidTokenError()
        return AccessClaims(
            sub=payload["sub"],
            email=payload["email"],
            role=payload["role"],
            sid=payload["sid"],
            jti=payload["jti"],
            iat=payload["iat"],
            exp=payload["exp"],
        )

    def _sign(self, payload: dict[str, Any], token_type: str) -> str:
        import jwt  # here, not at the top: the authorizer only verifies, and its cold start skips PyJWT

        key = self._keys.ring().current
        return jwt.encode(payload, key.secret, algorithm=ALGORITHM, headers={"typ": token_type, "kid": key.kid})

    def _verify(self, token: str, token_type: str, required: tuple[str, ...]) -> dict[str, Any]:
        """The payload of a token we signed, of this type. HS256 only, so verification is the standard library's HMAC:
        one decode of each segment, the header checked before any key is chosen, the signature compared in constant
        time over the exact text that was signed (PyJWT, which signs, re-validates every character and would take
        most of the authorizer's warm time)."""
        header_segment, payload_segment, signature_segment = token.split(".")  # _is_jwt_shaped: exactly three
        try:
            header, payload = _json_object(header_segment), _json_object(payload_segment)
            signature = _decode_segment(signature_segment)
        except (ValueError, RecursionError, binascii.Error) as exc:  # RecursionError: deeply nested JSON
            raise InvalidTokenError() from exc
        kid = header.get("kid")
        if (
            set(header) - _ALLOWED_HEADER
            or header.get("alg") != ALGORITHM
            or header.get("typ") != token_type
            or not isinstance(kid, str)
        ):
            raise InvalidTokenError()
        key = self._keys.find(kid)
        if key is None:
            raise InvalidTokenError()
        expected = hmac.new(key.secret, f"{header_segment}.{payload_segment}".encode("ascii"), hashlib.sha256).digest()
        # The signature must also be spelled canonically: one token, one spelling (RFC 7515 s2, no padding).
        if not hmac.compare_digest(expected, signature) or _encode_segment(signature) != signature_segment:
            raise InvalidTokenError()
        if any(name not in payload for name in required):
            raise InvalidTokenError()
        # Exact issuer and audience (RFC 8725 s3.8, s3.9): a list that merely contains our audience is refused.
        if payload["iss"] != self._issuer or payload["aud"] != self._audience:
            raise InvalidTokenError()
        self._check_claims(payload, required)
        return payload

    def _check_claims(self, payload: dict[str, Any], required: tuple[str, ...]) -> None:
        strings = [name for name in required if name not in ("iat", "exp", "aud")]
        if any(not isinstance(payload[name], str) or not payload[name] for name in strings):
            raise InvalidTokenError()
        times = [payload["iat"], payload["exp"], payload.get("nbf", 0)]
        if not all(_is_numeric_date(value) for value in times):
            raise InvalidTokenError()
        iat, exp, nbf = times
        now = self._clock()
        if iat > now + self._leeway or nbf > now + self._leeway:
            raise InvalidTokenError()
        if exp <= now - self._leeway:
            raise TokenExpiredError("The token expired. Refresh it or sign in again.")


def _is_numeric_date(value: object) -> bool:
    """RFC 7519 s2 NumericDate: a finite number (JSON has no NaN, but Python's json module reads one), and a sane one:
    a 400-digit integer is a number, but no date of ours (and it would overflow a float)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return abs(value) < MAX_NUMERIC_DATE and (isinstance(value, int) or math.isfinite(value))

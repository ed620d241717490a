"""Access tokens: ES256 JWTs (RFC 7518 s3.4) signed by the registry's current KMS key, verified with public keys only.

They are typed `at+jwt` (RFC 8725 s3.11, explicit typing; RFC 9068), name their signing key by `kid` (the RFC 7638
thumbprint of its public JWK, published at /.well-known/jwks.json) and their session (`sid`). Refresh tokens are not
JWTs at all (auth_core.refresh_tokens), so neither can stand in for the other, and nothing here reads the service's
HMAC secret: whoever can verify a token can't mint one.
Verification follows RFC 8725 s3.1-s3.10: one pinned algorithm (an HS256 token "signed" with our public key is refused
before any key is looked at: algorithm confusion, s3.1), a `kid` the registry publishes, no other header parameter
(no `jku`, `jwk`, `x5u`, `x5c`, `crit`: keys come only from our registry, s3.10), exact `iss` and `aud`, every claim
required, times checked against our clock with a small explicit leeway. The verification is written here rather than
PyJWT's: one pass over the token and no PyJWT import on the authorizer's cold start; tests/security/test_differential.py
proves it refuses everything PyJWT (strict options, algorithms=["ES256"]) refuses.
"""

from __future__ import annotations

import binascii
import json
import math
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auth_core.errors import InvalidTokenError, TokenExpiredError
from auth_core.es256 import ALGORITHM, b64url, b64url_decode, is_valid_signature

if TYPE_CHECKING:
    from collections.abc import Callable

    from auth_core.public_keys import PublicKeys
    from auth_core.signer import KmsSigner
    from auth_core.signing_keys import KeySet

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
    kid: str = ""  # the key that signed it: the authorizer checks the registry still trusts it


def new_id() -> str:
    """A random, opaque identifier (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object with a name given twice is refused (RFC 7515 s5.2 / RFC 7519 s4: no ambiguous claims)."""
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("duplicate member name")
    return document


def _json_object(segment: str) -> dict[str, Any]:
    document = json.loads(b64url_decode(segment), object_pairs_hook=_unique_keys)
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return document


def _json_segment(document: dict[str, Any]) -> str:
    return b64url(json.dumps(document, separators=(",", ":")).encode("utf-8"))


def _is_jwt_shaped(token: str) -> bool:
    return len(token) <= MAX_TOKEN_LENGTH and _JWT_SHAPE.fullmatch(token) is not None


class TokenService:
    def __init__(
        self,
        public_keys: PublicKeys,
        *,
        signer: Callable[[], KmsSigner],
        issuer: Callable[[], str],
        audience: str,
        access_ttl: int,
        leeway: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._public_keys = public_keys
        self._signer = signer  # built on first use: the authorizer, which only verifies, never loads a KMS client
        self._issuer = issuer
        self._audience = audience
        self._access_ttl = access_ttl
        self._leeway = leeway
        self._clock = clock

    @property
    def leeway(self) -> int:
        """How long past `exp` a token is still accepted (clock skew): a denylist entry must outlive it."""
        return self._leeway

    def issue_access(
        self, *, key_set: KeySet, user_id: str, email: str, role: str, session_id: str
    ) -> tuple[str, AccessClaims]:
        """A signed access token (one kms:Sign call) with the current key of `key_set`, the registry as just read."""
        signer = self._signer()
        key = signer.current(key_set)
        # Whole seconds: verifiers compare `iat` with an integer clock (joserfc, PyJWT) and would call a token with
        # milliseconds "issued in the future" for up to a second. The millisecond-exact "issued at or before a
        # sign-out-everywhere" is the session's `created_at` (auth_core.sessions), which every verification reads.
        now = int(self._clock())
        claims = AccessClaims(
            sub=user_id,
            email=email,
            role=role,
            sid=session_id,
            jti=new_id(),
            iat=now,
            exp=now + self._access_ttl,
            kid=key.kid,
        )
        header = {"alg": ALGORITHM, "typ": ACCESS_TYPE, "kid": key.kid}
        payload = {"iss": self._issuer(), "aud": self._audience, **claims.__dict__}
        del payload["kid"]
        signing_input = f"{_json_segment(header)}.{_json_segment(payload)}"
        signature = signer.sign(key, signing_input.encode("ascii"))
        return f"{signing_input}.{b64url(signature)}", claims

    def verify_access(self, token: str) -> AccessClaims:
        """The claims of a valid access token; InvalidTokenError or TokenExpiredError otherwise."""
        if not _is_jwt_shaped(token):
            raise InvalidTokenError()
        kid, payload = self._verify(token, ACCESS_TYPE, _ACCESS_CLAIMS)
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
            kid=kid,
        )

    def _verify(self, token: str, token_type: str, required: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
        """The kid and payload of a token we signed, of this type: one decode of each segment, the header checked
        before any key is chosen, the signature checked over the exact text that was signed."""
        header_segment, payload_segment, signature_segment = token.split(".")  # _is_jwt_shaped: exactly three
        try:
            header, payload = _json_object(header_segment), _json_object(payload_segment)
            signature = b64url_decode(signature_segment)
        except (ValueError, RecursionError, binascii.Error) as exc:  # RecursionError: deeply nested JSON
            raise InvalidTokenError() from exc
        kid = header.get("kid")
        if (
            set(header) - _ALLOWED_HEADER
            or header.get("alg") != ALGORITHM
            or header.get("typ") != token_type
            or not isinstance(kid, str)
            or not kid
        ):
            raise InvalidTokenError()
        # The signature must also be spelled canonically: one token, one spelling (RFC 7515 s2, no padding).
        if b64url(signature) != signature_segment:
            raise InvalidTokenError()
        key = self._public_keys.find(kid)
        if key is None or not is_valid_signature(key, f"{header_segment}.{payload_segment}".encode("ascii"), signature):
            raise InvalidTokenError()
        if any(name not in payload for name in required):
            raise InvalidTokenError()
        # Exact issuer and audience (RFC 8725 s3.8, s3.9): a list that merely contains our audience is refused.
        if payload["iss"] != self._issuer() or payload["aud"] != self._audience:
            raise InvalidTokenError()
        self._check_claims(payload, required)
        return kid, payload

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

"""The authorizer's decision: who a bearer access token belongs to, or why it is refused."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auth_core.errors import InvalidTokenError, MissingTokenError, TokenRevokedError

if TYPE_CHECKING:
    from collections.abc import Callable

    from auth_core.public_keys import PublicKeys
    from auth_core.sessions import SessionsRepository
    from auth_core.tokens import TokenService


@dataclass(frozen=True)
class Principal:
    """The caller of a protected route, as the authorizer passes it in `requestContext.authorizer`."""

    sub: str
    email: str
    role: str
    sid: str  # the session of the access token: "current" in the session list, the one a password change keeps


# RFC 6750 s2.1: credentials = "Bearer" 1*SP b68token; the scheme is case-insensitive.
_BEARER = re.compile(r"(?i:bearer) +([A-Za-z0-9\-._~+/]+=*)")


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; anything else is refused, control characters too."""
    if authorization is None or not authorization.strip(" \t"):
        raise MissingTokenError()
    match = _BEARER.fullmatch(authorization.strip(" \t"))
    if match is None:
        raise InvalidTokenError("The Authorization header must be: Bearer <access token>.")
    return match.group(1)


class AccessVerifier:
    def __init__(
        self,
        tokens: TokenService,
        sessions: SessionsRepository,
        public_keys: PublicKeys,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tokens = tokens
        self._sessions = sessions
        self._public_keys = public_keys
        self._clock = clock

    def verify(self, token: str) -> Principal:
        """Signature (with the public keys in memory) and claims, then revocation in one DynamoDB round trip: the
        token itself (logout), its session (ended by logout, reuse detection or its owner), its user (disabled, or a
        sign-out-everywhere at or after the session began, to the millisecond), and the signing-key registry as it is
        now, so a key an emergency rotation dropped is refused by every warm authorizer at once. The role is the
        user's current one."""
        claims = self._tokens.verify_access(token)
        is_denied, session, user, key_set = self._sessions.access_state(
            jti=claims.jti, session_id=claims.sid, email=claims.email
        )
        self._public_keys.learn(key_set)
        if not key_set.trusts(claims.kid, self._clock()):
            raise InvalidTokenError("The key that signed the token is no longer trusted. Sign in again.")
        if is_denied or session is None or session.is_revoked_for(user) or user is None:
            raise TokenRevokedError()
        if user.id != claims.sub:
            raise TokenRevokedError()
        return Principal(sub=user.id, email=user.email, role=user.role, sid=claims.sid)

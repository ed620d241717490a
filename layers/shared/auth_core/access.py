"""The authorizer's decision: who a bearer access token belongs to, or why it is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auth_core.errors import InvalidTokenError, MissingTokenError, TokenRevokedError

if TYPE_CHECKING:
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
    def __init__(self, tokens: TokenService, sessions: SessionsRepository) -> None:
        self._tokens = tokens
        self._sessions = sessions

    def verify(self, token: str) -> Principal:
        """Signature and claims, then revocation in one DynamoDB round trip: the token itself (logout), its session
        (ended by logout, reuse detection or its owner) and its user (disabled, or a sign-out-everywhere at or after
        the token's `iat`, to the millisecond). The role is the user's current one."""
        claims = self._tokens.verify_access(token)
        is_denied, session, user = self._sessions.access_state(
            jti=claims.jti, session_id=claims.sid, email=claims.email
        )
        if is_denied or session is None or session.is_revoked_for(user) or user is None:
            raise TokenRevokedError()
        if user.id != claims.sub or (claims.iat <= user.tokens_valid_after and claims.sid != user.kept_session):
            raise TokenRevokedError()
        return Principal(sub=user.id, email=user.email, role=user.role, sid=claims.sid)

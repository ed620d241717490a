"""The authorizer's decision: who a bearer access token belongs to, or why it is refused."""

from __future__ import annotations

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


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header (RFC 6750 s2.1: the scheme is case-insensitive)."""
    if authorization is None or not authorization.strip():
        raise MissingTokenError()
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise InvalidTokenError("The Authorization header must be: Bearer <access token>.")
    return token


class AccessVerifier:
    def __init__(self, tokens: TokenService, sessions: SessionsRepository) -> None:
        self._tokens = tokens
        self._sessions = sessions

    def verify(self, token: str) -> Principal:
        """Signature and claims, then revocation in one DynamoDB round trip. The role is the user's current one."""
        claims = self._tokens.verify_access(token)
        is_denied, user = self._sessions.access_state(jti=claims.jti, email=claims.email)
        if is_denied or user is None or user.id != claims.sub or not user.is_active:
            raise TokenRevokedError()
        if claims.iat < user.tokens_valid_after:
            raise TokenRevokedError()
        return Principal(sub=user.id, email=user.email, role=user.role)

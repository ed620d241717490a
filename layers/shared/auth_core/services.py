"""What the API does: register, login, refresh, logout, logout-all, the current user, and user administration.

Handlers call one method each with keyword arguments; these methods talk to the repositories, the token service and
the password hasher, and write the audit trail.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auth_core.errors import (
    EmailTakenError,
    InvalidCredentialsError,
    InvalidTokenError,
    NotFoundError,
    TokenExpiredError,
    TokenRevokedError,
    TooManyAttemptsError,
    ValidationFailedError,
)
from auth_core.observability import audit, count
from auth_core.records import Role, Status, UserRecord, utc_now_iso
from auth_core.sessions import LostRaceError, RefreshState, SessionsRepository, Successor, token_hash
from auth_core.throttle import delay_after
from auth_core.tokens import AccessClaims, RefreshClaims, TokenService, new_id

if TYPE_CHECKING:
    from collections.abc import Callable

    from auth_core.passwords import PasswordHasher
    from auth_core.users import UsersRepository


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class AuthService:
    def __init__(
        self,
        *,
        users: UsersRepository,
        sessions: SessionsRepository,
        tokens: TokenService,
        hasher: PasswordHasher,
        access_ttl: int,
        refresh_ttl: int,
        reuse_grace: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._tokens = tokens
        self._hasher = hasher
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._reuse_grace = reuse_grace
        self._clock = clock

    def register(self, *, email: str, password: str) -> UserRecord:
        """A new active user with the `user` role; EmailTakenError if the email is registered already."""
        user = UserRecord(
            id=new_id(),
            email=email,
            role="user",
            status="active",
            created_at=utc_now_iso(),
            password_hash=self._hasher.hash(password),
        )
        try:
            self._users.create(user)
        except EmailTakenError:
            audit("register", "failure", reason="email_taken")
            raise
        audit("register", "success", user_id=user.id)
        count("Registrations")
        return user

    def create_admin(self, *, email: str, password: str) -> UserRecord:
        """The first admin (make admin / ADMIN_EMAIL at local start-up); the password policy still applies."""
        user = UserRecord(
            id=new_id(),
            email=email,
            role="admin",
            status="active",
            created_at=utc_now_iso(),
            password_hash=self._hasher.hash(password),
        )
        self._users.create(user)
        audit("admin_created", "success", user_id=user.id)
        return user

    def login(self, *, email: str, password: str) -> IssuedTokens:
        """A token pair for the right password; the same error, after the same bcrypt work, for any other case.

        Two DynamoDB round trips either way: one read (user and recent failures), one write (the session, or the
        failure count)."""
        user, attempts = self._sessions.login_state(email)
        now = self._clock()
        if attempts.retry_after(now) > 0:
            audit("login", "throttled", user_id=user.id if user else None)
            count("LoginThrottled")
            raise TooManyAttemptsError(math.ceil(attempts.retry_after(now)))
        is_match = self._hasher.verify(password, user.password_hash if user else None)
        if user is None or not is_match or not user.is_active:
            failures = attempts.failures_after_one_more(now)
            self._sessions.record_failure(email, attempts, now=now, locked_until=now + delay_after(failures))
            audit(
                "login",
                "failure",
                user_id=user.id if user else None,
                reason="disabled" if user and is_match else "invalid_credentials",
                failures=failures,
            )
            count("LoginFailures")
            raise InvalidCredentialsError()
        family_id = new_id()
        refresh_token, refresh = self._tokens.issue_refresh(user_id=user.id, email=user.email, family_id=family_id)
        self._sessions.start(
            refresh_hash=token_hash(refresh_token),
            family_id=family_id,
            user_id=user.id,
            expires_at=refresh.exp,
            reset_attempts_of=email if attempts.failures else None,
        )
        audit("login", "success", user_id=user.id)
        count("Logins")
        return self._pair(user, refresh_token)

    def refresh(self, *, refresh_token: str) -> IssuedTokens:
        """Rotate a refresh token (RFC 9700 s4.14.2): a new pair, the old token retired; reuse revokes the family."""
        claims = self._tokens.verify_refresh(refresh_token)
        presented = token_hash(refresh_token)
        state = self._sessions.refresh_state(refresh_hash=presented, family_id=claims.family_id, email=claims.email)
        user = self._live_user(state, claims)
        now = self._clock()
        new_token, new_claims = self._tokens.issue_refresh(
            user_id=user.id, email=user.email, family_id=claims.family_id
        )
        successor = Successor(
            old_hash=presented,
            new_hash=token_hash(new_token),
            family_id=claims.family_id,
            user_id=user.id,
            expires_at=new_claims.exp,
        )
        assert state.token is not None  # _live_user checked it
        try:
            if state.token.status == "active":
                self._sessions.rotate(successor, now=now)
            else:
                self._branch_or_revoke(state.token.rotated_at, now, successor)
        except LostRaceError:
            # A concurrent refresh of the same token won a moment ago: we are inside the grace window.
            self._branch_or_revoke(now, now, successor)
        audit("refresh", "success", user_id=user.id)
        count("Refreshes")
        return self._pair(user, new_token)

    def logout(self, *, refresh_token: str | None, access_token: str | None) -> None:
        """End this session: revoke the refresh family and denylist the access token. Idempotent."""
        family = self._verified_refresh(refresh_token)
        access = self._verified_access(access_token)
        self._sessions.end_session(
            family=(family.family_id, family.sub, family.exp) if family else None,
            denied_jti=(access.jti, access.exp) if access else None,
        )
        audit("logout", "success", user_id=(family.sub if family else None) or (access.sub if access else None))

    def logout_all(self, *, user_id: str, email: str) -> None:
        """End every session of the user: every token issued before now stops working (one conditional write)."""
        try:
            self._users.update(email=email, user_id=user_id, tokens_valid_after=round(self._clock(), 3))
        except NotFoundError as exc:  # the account is gone (or the email is someone else's now)
            raise TokenRevokedError() from exc
        audit("logout_all", "success", user_id=user_id)

    def current_user(self, *, user_id: str) -> UserRecord:
        return self._users.get_by_id(user_id)

    def _live_user(self, state: RefreshState, claims: RefreshClaims) -> UserRecord:
        user = state.user
        if (
            state.token is None
            or not state.is_family_active
            or user is None
            or user.id != claims.sub
            or not user.is_active
            or claims.iat < user.tokens_valid_after
        ):
            audit("refresh", "failure", user_id=claims.sub, reason="revoked")
            raise TokenRevokedError()
        return user

    def _branch_or_revoke(self, rotated_at: float, now: float, successor: Successor) -> None:
        if now - rotated_at <= self._reuse_grace:
            try:
                self._sessions.branch(successor, rotated_since=now - self._reuse_grace)
                return
            except LostRaceError:
                pass  # the grace window closed meanwhile
        # Reuse of a rotated-out token: someone holds a copy. End the whole session (RFC 9700 s4.14.2).
        self._sessions.revoke_family(
            family_id=successor.family_id, user_id=successor.user_id, expires_at=successor.expires_at
        )
        audit("refresh_reuse_detected", "revoked", user_id=successor.user_id)
        count("RefreshReuseDetected")
        raise TokenRevokedError()

    def _pair(self, user: UserRecord, refresh_token: str) -> IssuedTokens:
        access_token, _ = self._tokens.issue_access(user_id=user.id, email=user.email, role=user.role)
        return IssuedTokens(access_token, self._access_ttl, refresh_token, self._refresh_ttl)

    def _verified_refresh(self, token: str | None) -> RefreshClaims | None:
        if token is None:
            return None
        try:
            return self._tokens.verify_refresh(token)  # a malformed token is still a 400
        except (InvalidTokenError, TokenExpiredError):
            return None  # nothing of ours to revoke

    def _verified_access(self, token: str | None) -> AccessClaims | None:
        if token is None:
            return None
        try:
            return self._tokens.verify_access(token)
        except (InvalidTokenError, TokenExpiredError):
            return None


class AdminService:
    MAX_PAGE = 100

    def __init__(self, *, users: UsersRepository, clock: Callable[[], float] = time.time) -> None:
        self._users = users
        self._clock = clock

    def list_users(self, *, limit: int, cursor: str | None) -> tuple[list[UserRecord], str | None]:
        return self._users.list(limit=limit, cursor=cursor)

    def get_user(self, *, user_id: str) -> UserRecord:
        return self._users.get_by_id(user_id)

    def update_user(self, *, actor_id: str, user_id: str, role: Role | None, status: Status | None) -> UserRecord:
        """Change a user's role or status; disabling ends every session of theirs. Admins can't lock themselves out."""
        target = self._users.get_by_id(user_id)
        if target.id == actor_id and (role == "user" or status == "disabled"):
            raise ValidationFailedError(
                "An admin cannot demote or disable their own account.",
                details=[{"field": "role" if role == "user" else "status", "message": "cannot apply to yourself"}],
            )
        is_disabling = status == "disabled" and target.status != "disabled"
        updated = self._users.update(
            email=target.email,
            user_id=target.id,
            role=role,
            status=status,
            tokens_valid_after=round(self._clock(), 3) if is_disabling else None,
        )
        if role is not None and role != target.role:
            audit("role_change", "success", user_id=target.id, actor_id=actor_id, role=role)
        if status is not None and status != target.status:
            audit("disable" if status == "disabled" else "enable", "success", user_id=target.id, actor_id=actor_id)
        return updated

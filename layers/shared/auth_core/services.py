"""What the API does: login, refresh, logout, logout-all, the current user, and user administration (registration
and the rest of the account lifecycle: auth_core.account).

Handlers call one method each with keyword arguments; these methods talk to the repositories, the token service and
the password hasher, and write the audit trail.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auth_core.attempts import attempts_key
from auth_core.errors import (
    DependencyError,
    EmailNotVerifiedError,
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
from auth_core.sessions import LostRaceError, NewSession, Session
from auth_core.signing_keys import RegistryChangedError
from auth_core.tokens import new_id

if TYPE_CHECKING:
    from collections.abc import Callable

    from auth_core.attempts import AttemptsRepository
    from auth_core.devices import DeviceCredentials
    from auth_core.passwords import PasswordHasher
    from auth_core.public_keys import PublicKeys
    from auth_core.refresh_tokens import RefreshToken, RefreshTokenCodec
    from auth_core.sessions import SessionsRepository
    from auth_core.signing_keys import KeySet
    from auth_core.tokens import AccessClaims, TokenService
    from auth_core.users import UsersRepository


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    device_credential: str | None = None  # set by a login: the device cookie's new value


@dataclass(frozen=True)
class SessionPolicy:
    """How long tokens and sessions live (the settings of the same names)."""

    access_ttl: int
    refresh_ttl: int  # idle lifetime: a session unused this long ends
    max_lifetime: int  # absolute lifetime: a session ends this long after its login, whatever its activity
    reuse_grace: int


@dataclass(frozen=True)
class Client:
    """Where a login comes from, kept with its session so its owner can recognise it."""

    user_agent: str = ""
    ip: str = ""
    device_credential: str | None = None


class AuthService:
    def __init__(
        self,
        *,
        users: UsersRepository,
        sessions: SessionsRepository,
        attempts: AttemptsRepository,
        tokens: TokenService,
        public_keys: PublicKeys,
        refresh_tokens: RefreshTokenCodec,
        devices: DeviceCredentials,
        hasher: PasswordHasher,
        policy: SessionPolicy,
        require_verified_email: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._attempts = attempts
        self._tokens = tokens
        self._public_keys = public_keys  # what verified a bearer token: logout checks the registry still trusts it
        self._refresh_tokens = refresh_tokens
        self._devices = devices
        self._hasher = hasher
        self._policy = policy
        self._require_verified = require_verified_email
        self._clock = clock

    def create_admin(self, *, email: str, password: str) -> UserRecord:
        """The first admin (make admin / ADMIN_EMAIL at local start-up), verified: the operator typed the address.
        The password policy still applies."""
        user = UserRecord(
            id=new_id(),
            email=email,
            role="admin",
            status="active",
            created_at=utc_now_iso(),
            email_verified=True,
            password_hash=self._hasher.hash(password),
        )
        self._users.create(user)
        audit("admin_created", "success", user_id=user.id)
        return user

    def login(self, *, email: str, password: str, client: Client = Client()) -> IssuedTokens:
        """A token pair for the right password; the same error, after the same bcrypt work, for any other case.

        The attempt is counted, on the device's budget when the client presents a valid device credential for this
        account and on the account's otherwise, before the password is checked (auth_core.attempts)."""
        device_id = self._devices.device_of(client.device_credential, email=email)
        budget = attempts_key(email, device_id)
        user, attempts, key_set = self._sessions.login_state(email, device_id)
        now = self._clock()
        try:
            counted = self._attempts.count(budget, attempts, now=now)
        except TooManyAttemptsError:
            audit("login", "throttled", user_id=user.id if user else None, budget="device" if device_id else "account")
            count("LoginThrottled")
            raise
        is_match = self._hasher.verify(password, user.password_hash if user else None)
        if user is None or not is_match or not user.is_active:
            audit(
                "login",
                "failure",
                user_id=user.id if user else None,
                reason="disabled" if user and is_match else "invalid_credentials",
                budget="device" if device_id else "account",
            )
            count("LoginFailures")
            raise InvalidCredentialsError()
        if self._require_verified and not user.email_verified:
            # The right password: no failure, so the attempt is taken back (the wrong one above still counts).
            self._attempts.uncount(budget, counted=counted, previous=attempts)
            audit("login", "failure", user_id=user.id, reason="email_not_verified")
            raise EmailNotVerifiedError()
        assert user.password_hash is not None
        now = round(self._clock(), 3)
        session_id = new_id()
        refresh = self._refresh_tokens.first(session_id=session_id, email=user.email)
        absolute_expiry = now + self._policy.max_lifetime
        session = NewSession(
            id=session_id,
            user_id=user.id,
            email=user.email,
            refresh_hash=refresh.hash,
            created_at=now,
            expires_at=min(now + self._policy.refresh_ttl, absolute_expiry),
            absolute_expires_at=absolute_expiry,
            user_agent=client.user_agent,
            ip=client.ip,
        )
        try:
            # Signed (kms:Sign) before the session is written: a signing failure leaves no session behind.
            access_token = self._access_token(user, session_id, key_set)
            self._sessions.start(
                session, spent_budget=budget, counted_version=counted.version, password_hash=user.password_hash
            )
        except DependencyError:
            # The right password, but no session: this attempt was no failure, so it must not bring a lock closer.
            self._attempts.uncount(budget, counted=counted, previous=attempts)
            raise
        device_credential = self._devices.issue(email=user.email, presented=client.device_credential)
        audit("login", "success", user_id=user.id, session_id=session_id)
        count("Logins")
        pair = self._pair(access_token, refresh.value, refresh_left=absolute_expiry - now)
        return dataclasses.replace(pair, device_credential=device_credential)

    def refresh(self, *, refresh_token: str) -> IssuedTokens:
        """Rotate a refresh token (RFC 9700 s4.14.2): the session's one live token is replaced by its successor.

        The token rotated out a moment ago (within the grace window) gets that same successor again; any other
        rotated-out token is reuse, and the whole session ends."""
        presented = self._refresh_tokens.parse(refresh_token)
        for _ in range(2):  # a second look only when a concurrent refresh won the write
            session, user, key_set = self._sessions.refresh_state(
                session_id=presented.session_id, email=presented.email
            )
            now = round(self._clock(), 3)
            live_session, live_user = self._live(session, user, now)
            if presented.hash == live_session.current_hash:
                successor = self._refresh_tokens.successor(presented)
                expires_at = min(now + self._policy.refresh_ttl, live_session.absolute_expires_at)
                # Signed before the rotation is written: a signing failure leaves the session as it was.
                access_token = self._access_token(live_user, live_session.id, key_set)
                try:
                    self._sessions.rotate(
                        live_session, email=presented.email, new_hash=successor.hash, now=now, expires_at=expires_at
                    )
                except LostRaceError:
                    continue
                except TokenRevokedError:
                    audit("refresh", "failure", user_id=live_user.id, reason="revoked")
                    raise
            else:
                successor = self._replayed_successor(presented, live_session, now)
                access_token = self._access_token(live_user, live_session.id, key_set)
            audit("refresh", "success", user_id=live_user.id, session_id=live_session.id)
            count("Refreshes")
            return self._pair(access_token, successor.value, refresh_left=live_session.absolute_expires_at - now)
        raise TokenRevokedError()  # the session changed twice under us: only a replay race does that

    def logout(self, *, refresh_token: str | None, access_token: str | None) -> None:
        """End this session (its refresh and access tokens) and denylist the access token. Idempotent.

        Either token names the session; a malformed refresh token is still a 400, a bearer token we don't trust is
        ignored (logout needs none). The bearer token is judged by the public keys this function holds, so its
        session ends only while the registry is still the one that trusted its key (a condition in the same
        transaction); if the registry changed (a rotation; an emergency one drops keys), it is read again and the
        token judged by it, once: a token of a dropped key ends no session, whoever holds that key."""
        refresh = self._verified_refresh(refresh_token)
        access = self._verified_access(access_token)
        now = self._clock()
        try:
            user_id, ended = self._end(refresh, access, self._public_keys.key_set() if access else None, now)
        except RegistryChangedError:  # only raised with a bearer token
            key_set = self._public_keys.reload()
            if access and not key_set.trusts(access.kid, now):  # a dropped key still in use: it may have leaked
                audit("logout_bearer_refused", "failure", user_id=access.sub, reason="untrusted_key", kid=access.kid)
            try:
                user_id, ended = self._end(refresh, access, key_set, now)
            except RegistryChangedError:  # changed again within these milliseconds: the bearer token goes unused
                user_id, ended = self._end(refresh, None, key_set, now)
        audit("logout", "success", user_id=user_id, sessions=ended)

    def logout_all(self, *, user_id: str, email: str) -> None:
        """End every session of the user: every token issued at or before now stops working (one conditional write)."""
        try:
            self._users.update(email=email, user_id=user_id, tokens_valid_after=round(self._clock(), 3))
        except NotFoundError as exc:  # the account is gone (or the email is someone else's now)
            raise TokenRevokedError() from exc
        audit("logout_all", "success", user_id=user_id)

    def current_user(self, *, user_id: str, email: str) -> UserRecord:
        """The caller's account, read by the email the authorizer verified (one consistent read, no index)."""
        user = self._users.shown(email)
        if user is None or user.id != user_id:
            raise NotFoundError("No user has this id.")
        return user

    def _live(self, session: Session | None, user: UserRecord | None, now: float) -> tuple[Session, UserRecord]:
        """The session and its user, if the session may still be refreshed."""
        if session is None:  # deleted by TTL after it expired (a token we issued: parse checked its tag)
            raise TokenExpiredError("The session has expired. Sign in again.")
        if session.is_revoked_for(user) or user is None:
            audit("refresh", "failure", user_id=session.user_id, reason="revoked")
            raise TokenRevokedError()
        if now >= session.absolute_expires_at:
            raise TokenExpiredError("The session has reached its maximum lifetime. Sign in again.")
        if now >= session.expires_at:
            raise TokenExpiredError("The session expired after a period without use. Sign in again.")
        return session, user

    def _replayed_successor(self, presented: RefreshToken, session: Session, now: float) -> RefreshToken:
        """The successor already issued for the token rotated out less than the grace window ago; anything else is
        reuse of a rotated-out token: someone holds a copy, so the session ends (RFC 9700 s4.14.2)."""
        is_recent = presented.hash == session.previous_hash and now - session.rotated_at <= self._policy.reuse_grace
        successor = self._refresh_tokens.replayed_successor(presented, session.current_hash) if is_recent else None
        if successor is not None:
            return successor
        self._sessions.end(session_ids={session.id}, now=now)
        audit("refresh_reuse_detected", "revoked", user_id=session.user_id, session_id=session.id)
        count("RefreshReuseDetected")
        raise TokenRevokedError()

    def _access_token(self, user: UserRecord, session_id: str, key_set: KeySet) -> str:
        access_token, _ = self._tokens.issue_access(
            key_set=key_set, user_id=user.id, email=user.email, role=user.role, session_id=session_id
        )
        return access_token

    def _pair(self, access_token: str, refresh_token: str, *, refresh_left: float) -> IssuedTokens:
        refresh_expires_in = max(1, int(min(self._policy.refresh_ttl, refresh_left)))
        return IssuedTokens(access_token, self._policy.access_ttl, refresh_token, refresh_expires_in)

    def _end(
        self, refresh: RefreshToken | None, access: AccessClaims | None, key_set: KeySet | None, now: float
    ) -> tuple[str | None, int]:
        """End the refresh token's session, and the access token's (denylisting it) if `key_set` trusts its key, only
        while the registry is still `key_set`. The user whose access token was used, and how many sessions ended."""
        session_ids = {refresh.session_id} if refresh else set()
        if access is None or key_set is None or not key_set.trusts(access.kid, now):
            self._sessions.end(session_ids=session_ids, now=now)
            return None, len(session_ids)
        session_ids.add(access.sid)
        denied = (access.jti, access.exp + self._tokens.leeway)
        self._sessions.end(session_ids=session_ids, denied=denied, now=now, registry_version=key_set.version)
        return access.sub, len(session_ids)

    def _verified_refresh(self, token: str | None) -> RefreshToken | None:
        if token is None:
            return None
        try:
            return self._refresh_tokens.parse(token)  # a malformed token is still a 400
        except InvalidTokenError:
            return None  # not ours: nothing to end

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

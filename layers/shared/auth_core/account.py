"""The account lifecycle (issue 10): registration with a verification mail, email verification, forgotten and
changed passwords, and the caller's sessions. Handlers call one method each with keyword arguments.

Enumeration: `resend` and `forgot` answer the same thing whatever the address, and no sooner than
MAIL_RESPONSE_SECONDS after they started (OWASP Forgot Password Cheat Sheet: "consistent amount of time"): only an
address that gets a mail costs an SES call, so the work differs, and the floor hides it. What fails after the user was
read (the quota, the link, SES) is logged and counted, never told: a 503 there would say the address has an account.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from auth_core.attempts import session_attempts_key
from auth_core.errors import (
    DependencyError,
    EmailTakenError,
    InvalidCredentialsError,
    TokenRevokedError,
    TooManyAttemptsError,
    ValidationFailedError,
)
from auth_core.observability import audit, count, logger
from auth_core.passwords import normalize_password, password_problems
from auth_core.records import UserRecord, utc_now_iso
from auth_core.tokens import new_id

if TYPE_CHECKING:
    from collections.abc import Callable

    from auth_core.attempts import AttemptsRepository
    from auth_core.links import LinksRepository, Purpose
    from auth_core.mail_quota import MailQuota
    from auth_core.mailer import Mailer
    from auth_core.passwords import PasswordHasher
    from auth_core.sessions import Session, SessionsRepository
    from auth_core.users import UsersRepository

MAX_SESSIONS_LISTED = 100


class AccountService:
    def __init__(
        self,
        *,
        users: UsersRepository,
        sessions: SessionsRepository,
        attempts: AttemptsRepository,
        links: LinksRepository,
        quota: MailQuota,
        mailer: Mailer,
        hasher: PasswordHasher,
        mail_response_seconds: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._attempts = attempts
        self._links = links
        self._quota = quota
        self._mailer = mailer
        self._hasher = hasher
        self._floor = mail_response_seconds
        self._clock = clock
        self._sleep = sleep

    def register(self, *, email: str, password: str) -> UserRecord:
        """A new active, unverified user with the `user` role and its verification link, in one transaction
        (EmailTakenError if the email is registered already); then the mail. A mail SES refuses leaves a complete
        account whose owner asks for another mail (resend): README, "Registration when the mail fails"."""
        user = UserRecord(
            id=new_id(),
            email=email,
            role="user",
            status="active",
            created_at=utc_now_iso(),
            email_verified=False,
            password_hash=self._hasher.hash(password),
        )
        token, link = self._links.new(purpose="verify", user_id=user.id, email=email, now=self._clock())
        try:
            self._users.create(user, with_item=(self._links.table, link))
        except EmailTakenError:
            audit("register", "failure", reason="email_taken")
            raise
        audit("register", "success", user_id=user.id)
        count("Registrations")
        self._mail(user, "verification", lambda: self._mailer.send_verification(to=email, token=token))
        return user

    def verify_email(self, *, token: str) -> None:
        """Spend a verification link: the account's email is verified (InvalidLinkError for any unusable link)."""
        now = self._clock()
        link = self._links.find(token, purpose="verify", now=now)
        self._links.spend(link, now=now, change=self._users.verified_update(email=link.email, user_id=link.user_id))
        audit("email_verified", "success", user_id=link.user_id)

    def resend_verification(self, *, email: str) -> None:
        """Another verification mail for an unverified account; for any other address, nothing, the same way."""
        self._padded(email, wants_mail=lambda user: not user.email_verified, purpose="verify")

    def forgot_password(self, *, email: str) -> None:
        """A reset mail for an active account; for any other address, nothing, the same way."""
        self._padded(email, wants_mail=lambda _: True, purpose="reset")

    def reset_password(self, *, token: str, password: str) -> None:
        """Spend a reset link: the new password, every session of the user ended (refresh and access tokens issued at
        or before now), the email verified. A password the policy refuses leaves the link unspent."""
        now = round(self._clock(), 3)
        link = self._links.find(token, purpose="reset", now=now)
        problems = password_problems(password, email=link.email)
        if problems:
            raise ValidationFailedError(details=[{"field": "password", "message": "password " + "; ".join(problems)}])
        change = self._users.reset_update(
            email=link.email,
            user_id=link.user_id,
            password_hash=self._hasher.hash(password),
            now=now,
            issued_at=link.issued_at,
        )
        self._links.spend(link, now=now, change=change)
        audit("password_reset", "success", user_id=link.user_id)
        count("PasswordResets")

    def change_password(
        self, *, user_id: str, email: str, session_id: str, current_password: str, new_password: str
    ) -> None:
        """Replace the password; every other session ends, the caller's (`session_id`) continues. A wrong current
        password is a failed login attempt: counted before it is checked and locked out like a login (CONTRACT.md
        "Login throttling"), on the budget of the caller's session, as a known device has its own for logins: guesses
        made with a stolen access token are bounded per session, and failed logins from elsewhere, which lock the
        account's budget, never keep the signed-in owner from changing the password."""
        problems = password_problems(new_password, email=email)
        if normalize_password(new_password) == normalize_password(current_password):
            problems.append("must differ from the current password")
        if problems:
            detail = "password " + "; ".join(problems)
            raise ValidationFailedError(details=[{"field": "new_password", "message": detail}])
        user, attempts, session = self._sessions.change_state(email, session_id)
        budget, now = session_attempts_key(email, session_id), self._clock()
        # The session to keep must still be live for the user as read, and the write below lands only if no
        # sign-out-everywhere came since: a logout-all that lands after the authorizer let this request in is not
        # undone by the `kept_session` the change sets.
        if user is None or user.id != user_id or user.password_hash is None:
            raise TokenRevokedError()
        if session is None or not session.is_live_for(user, now):
            raise TokenRevokedError()
        try:
            counted = self._attempts.count(budget, attempts, now=now)
        except TooManyAttemptsError:
            audit("password_change", "throttled", user_id=user_id, budget="session")
            count("LoginThrottled")
            raise
        if not self._hasher.verify(current_password, user.password_hash):
            audit("password_change", "failure", user_id=user_id, reason="invalid_credentials", budget="session")
            count("LoginFailures")
            raise InvalidCredentialsError("The current password is incorrect.")
        try:
            self._users.change_password(
                email=email,
                user_id=user_id,
                old_hash=user.password_hash,
                new_hash=self._hasher.hash(new_password),
                now=round(self._clock(), 3),
                kept_session=session_id,
                valid_after=user.tokens_valid_after,
            )
        finally:
            self._attempts.uncount(budget, counted=counted, previous=attempts)  # the right password is no failure
        audit("password_changed", "success", user_id=user_id, session_id=session_id)

    def sessions(self, *, user_id: str, email: str) -> list[Session]:
        """The caller's live sessions, newest first."""
        user = self._users.get_by_email(email)
        if user is None or user.id != user_id:
            raise TokenRevokedError()
        return self._sessions.list_live(user, now=self._clock(), limit=MAX_SESSIONS_LISTED)

    def end_session(self, *, user_id: str, email: str, session_id: str) -> None:
        """End one of the caller's live sessions (NotFoundError for any other id)."""
        self._sessions.end_own(session_id=session_id, user_id=user_id, email=email, now=self._clock())
        audit("session_ended", "success", user_id=user_id, session_id=session_id)

    def _padded(self, email: str, *, wants_mail: Callable[[UserRecord], bool], purpose: str) -> None:
        """Mail the account of `email` if it is active and `wants_mail`, within the address's quota; answer no
        sooner than the floor after starting, whatever happened."""
        started = self._clock()
        event = "verification_resend" if purpose == "verify" else "password_forgot"
        try:
            user = self._users.get_by_email(email)  # a failure here is the same 503 for every address
            if user is None or not user.is_active or not wants_mail(user):
                audit(event, "ignored", user_id=user.id if user else None)
                return
            self._mail_within_quota(user, purpose, event)
        finally:
            self._sleep(max(0.0, started + self._floor - self._clock()))

    def _mail_within_quota(self, user: UserRecord, purpose: str, event: str) -> None:
        now = self._clock()
        try:
            if not self._quota.take(user.email, now=now):
                audit(event, "rate_limited", user_id=user.id)
                count("MailRateLimited")
                return
            kind: Purpose = "verify" if purpose == "verify" else "reset"
            token, item = self._links.new(purpose=kind, user_id=user.id, email=user.email, now=now)
            self._links.put(item)
        except DependencyError:
            logger.warning("mail not sent: storing the link failed", extra={"purpose": purpose})
            audit(event, "failure", user_id=user.id, reason="dependency")
            count("MailSendFailures")
            return
        audit(event, "requested", user_id=user.id)
        if kind == "verify":
            self._mail(user, "verification", lambda: self._mailer.send_verification(to=user.email, token=token))
        else:
            self._mail(user, "reset", lambda: self._mailer.send_reset(to=user.email, token=token))

    def _mail(self, user: UserRecord, kind: str, send: Callable[[], None]) -> None:
        """Send one mail; a failure is logged and counted (MailSendFailures), never raised."""
        try:
            send()
        except DependencyError as error:
            cause = error.__cause__  # the AWS error code tells a sandbox refusal from throttling or an outage
            code = cause.response.get("Error", {}).get("Code") if isinstance(cause, ClientError) else None
            logger.warning("mail not sent: SES failed", extra={"mail": kind, "code": code or type(cause).__name__})
            audit("mail_sent", "failure", user_id=user.id, mail=kind)
            count("MailSendFailures")
            return
        audit("mail_sent", "success", user_id=user.id, mail=kind)

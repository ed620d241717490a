"""The service's errors: each one a machine code (CONTRACT.md's error table), an HTTP status and a safe message.

Messages are written for clients and never carry exception text, table names, tokens or secrets.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    VALIDATION_ERROR = "validation_error"
    INVALID_REQUEST = "invalid_request"
    EMAIL_TAKEN = "email_taken"
    INVALID_CREDENTIALS = "invalid_credentials"
    EMAIL_NOT_VERIFIED = "email_not_verified"
    INVALID_LINK = "invalid_link"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    MISSING_TOKEN = "missing_token"
    INVALID_TOKEN = "invalid_token"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_REVOKED = "token_revoked"
    INSUFFICIENT_ROLE = "insufficient_role"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    SERVICE_UNAVAILABLE = "service_unavailable"
    INTERNAL_ERROR = "internal_error"


class ServiceError(Exception):
    """Base of every error a client may see."""

    status: int = 500
    code: ErrorCode = ErrorCode.INTERNAL_ERROR
    default_message: str = "An unexpected error occurred."

    def __init__(self, message: str | None = None, *, details: list[dict[str, Any]] | None = None) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code.value, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class ValidationFailedError(ServiceError):
    status, code = 400, ErrorCode.VALIDATION_ERROR
    default_message = "The request is invalid."


class InvalidRequestError(ServiceError):
    status, code = 400, ErrorCode.INVALID_REQUEST
    default_message = "The refresh token is malformed."


class EmailTakenError(ServiceError):
    status, code = 409, ErrorCode.EMAIL_TAKEN
    default_message = "An account with this email already exists."


class AuthenticationError(ServiceError):
    """A 401: every one carries a WWW-Authenticate challenge (RFC 6750 s3)."""

    status = 401


class InvalidCredentialsError(AuthenticationError):
    code = ErrorCode.INVALID_CREDENTIALS
    default_message = "The email or password is incorrect."


class InvalidTokenError(AuthenticationError):
    code = ErrorCode.INVALID_TOKEN
    default_message = "The token is invalid."


class TokenExpiredError(AuthenticationError):
    code = ErrorCode.TOKEN_EXPIRED
    default_message = "The token expired."


class TokenRevokedError(AuthenticationError):
    code = ErrorCode.TOKEN_REVOKED
    default_message = "The token has been revoked."


class MissingTokenError(AuthenticationError):
    code = ErrorCode.MISSING_TOKEN
    default_message = "Authentication is required: send an Authorization: Bearer <access token> header."


class EmailNotVerifiedError(ServiceError):
    status, code = 403, ErrorCode.EMAIL_NOT_VERIFIED
    default_message = "Verify your email address first: follow the link we sent, or ask for a new one."


class InvalidLinkError(ServiceError):
    """A verification or reset link that is malformed, unknown, expired or already used: one answer for all."""

    status, code = 400, ErrorCode.INVALID_LINK
    default_message = "This link is invalid or has expired. Ask for a new one."


class TooManyAttemptsError(ServiceError):
    status, code = 429, ErrorCode.TOO_MANY_ATTEMPTS
    default_message = "Too many failed sign-in attempts. Try again later."

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__()
        self.retry_after_seconds = max(1, retry_after_seconds)


class InsufficientRoleError(ServiceError):
    status, code = 403, ErrorCode.INSUFFICIENT_ROLE
    default_message = "Your role does not allow this action."


class NotFoundError(ServiceError):
    status, code = 404, ErrorCode.NOT_FOUND
    default_message = "Not found."


class DependencyError(ServiceError):
    """DynamoDB, Secrets Manager or SES failed; the operation wrote nothing it could not finish."""

    status, code = 503, ErrorCode.SERVICE_UNAVAILABLE
    default_message = "The service is temporarily unavailable. Please retry."

"""The domain record of a user and the request/response models of the API (CONTRACT.md's shapes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from auth_core.passwords import MAX_LENGTH, MIN_LENGTH, password_problems
from auth_core.records import Role, Status, UserRecord, utc_now_iso

if TYPE_CHECKING:
    from auth_core.sessions import Session

__all__ = ["Role", "Status", "UserRecord", "utc_now_iso"]  # re-exported: the API models and the record in one place

MAX_EMAIL_LENGTH = 254  # RFC 5321 s4.5.3.1.3 (a path of 256 octets minus the angle brackets)


def normalize_email(value: str) -> str:
    """The one spelling of an address we store and look up: validated, NFC, lowercased."""
    # Imported on first use: email_validator compiles its Unicode patterns on import (~40 ms of a cold start), and
    # most functions never read an email from a request.
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError("must be a valid email address") from exc
    return checked.normalized.lower()


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


EmailField = Annotated[
    str,
    Field(
        min_length=3, max_length=MAX_EMAIL_LENGTH, examples=["ada@example.com"], json_schema_extra={"format": "email"}
    ),
]
PasswordField = Annotated[str, Field(min_length=1, max_length=MAX_LENGTH)]


class RegisterRequest(_Request):
    email: EmailField
    # No minimum here: the policy judges the length of the normalized password (what is hashed), which can be longer
    # or shorter than what was typed. The maximum bounds the input as LoginRequest does, so whatever register accepts,
    # login accepts too.
    password: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_LENGTH,
            description=f"At least {MIN_LENGTH} characters once NFKC-normalized; see the password policy.",
            examples=["correct horse battery staple 42"],
        ),
    ]

    @field_validator("email")
    @classmethod
    def _normalize_email(cls, value: str) -> str:
        return normalize_email(value)

    @field_validator("password")
    @classmethod
    def _strong_password(cls, value: str, info: ValidationInfo) -> str:
        problems = password_problems(value, email=info.data.get("email", ""))
        if problems:
            raise ValueError("password " + "; ".join(problems))
        return value


class LoginRequest(_Request):
    email: EmailField
    password: PasswordField

    @field_validator("email")
    @classmethod
    def _normalize_email(cls, value: str) -> str:
        return normalize_email(value)


class RefreshRequest(_Request):
    """The refresh token may come in the body (native clients) or the HttpOnly cookie (browsers)."""

    # No length bound here: an oversized token is a malformed token (400 invalid_request), which tokens.py decides.
    refresh_token: str | None = None


class UpdateUserRequest(_Request):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    role: Role | None = None
    status: Status | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateUserRequest:
        if self.role is None and self.status is None:
            raise ValueError("give at least one of: role, status")
        return self


class EmailRequest(_Request):
    """resend and forgot: an address, nothing else."""

    email: EmailField

    @field_validator("email")
    @classmethod
    def _normalize_email(cls, value: str) -> str:
        return normalize_email(value)


# Any string up to this length is accepted here: a token of the wrong shape is `400 invalid_link` (CONTRACT.md),
# judged by auth_core.links; the bound only caps the work.
LinkTokenField = Annotated[str, Field(max_length=256, description="The `token` query parameter of the emailed link.")]


class VerifyEmailRequest(_Request):
    token: LinkTokenField


class ResetPasswordRequest(_Request):
    token: LinkTokenField
    # The policy (which needs the account's email) is applied by the service, before the link is spent.
    password: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_LENGTH,
            description=f"The new password: at least {MIN_LENGTH} characters once NFKC-normalized; see the policy.",
        ),
    ]


class ChangePasswordRequest(_Request):
    current_password: PasswordField
    new_password: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_LENGTH,
            description="Passes the password policy and differs from the current password.",
        ),
    ]


class User(BaseModel):
    """A user as clients see it: never a hash or an internal key."""

    id: str
    email: str
    role: Role
    status: Status
    created_at: str
    email_verified: bool

    @classmethod
    def of(cls, record: UserRecord) -> User:
        return cls(
            id=record.id,
            email=record.email,
            role=record.role,
            status=record.status,
            created_at=record.created_at,
            email_verified=record.email_verified,
        )


def _iso(instant: float) -> str:
    return datetime.fromtimestamp(instant, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class SessionView(BaseModel):
    """A session as its owner sees it (CONTRACT.md `Session`): never a token or a token hash."""

    id: str
    created_at: str
    last_used_at: str
    user_agent: str
    ip: str
    current: bool

    @classmethod
    def of(cls, session: Session, *, current_id: str) -> SessionView:
        return cls(
            id=session.id,
            created_at=_iso(session.created_at),
            last_used_at=_iso(session.last_used_at or session.created_at),
            user_agent=session.user_agent,
            ip=session.ip,
            current=session.id == current_id,
        )


class SessionsResponse(BaseModel):
    sessions: list[SessionView]


class UserResponse(BaseModel):
    user: User


class MeResponse(BaseModel):
    user: User
    message: str


class UserListResponse(BaseModel):
    users: list[User]
    next_cursor: str | None


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class Jwk(BaseModel):
    """A public signing key (RFC 7517 s4, RFC 7518 s6.2.1): an ES256 P-256 key, never a private member."""

    model_config = ConfigDict(extra="forbid")

    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: str
    y: str
    kid: str = Field(description="The RFC 7638 thumbprint of the key: the `kid` of the tokens it signs.")
    alg: Literal["ES256"]
    use: Literal["sig"]


class JwksResponse(BaseModel):
    keys: list[Jwk]


class OpenIdConfiguration(BaseModel):
    """OpenID Connect Discovery 1.0 s3: enough for API Gateway's JWT authorizers and OIDC libraries to find our keys."""

    issuer: str
    jwks_uri: str
    id_token_signing_alg_values_supported: list[str]
    response_types_supported: list[str]
    subject_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    claims_supported: list[str]

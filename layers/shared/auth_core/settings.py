"""One validated settings model, read once from the environment (names equal the env var names)."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# OWASP ASVS 6.2 / the requirements: bcrypt cost at least 12 in production.
MIN_PRODUCTION_BCRYPT_COST = 12


class SettingsError(RuntimeError):
    """The environment does not describe a usable configuration; raised at start, before any request."""


class Settings(BaseModel):
    """Everything a function reads from its environment. Secrets are never settings: only the secret's ARN is."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    USERS_TABLE_NAME: str = Field(min_length=3)
    TOKENS_TABLE_NAME: str = Field(min_length=3)
    SIGNING_KEY_SECRET_ARN: str = Field(min_length=1)
    # The `iss` claim: the API's public base URL (a custom domain). Empty: the API's stage URL, learned from the
    # requests API Gateway sends (the template can't name the API in its functions' settings: that is a cycle).
    TOKEN_ISSUER: str = Field(default="", pattern=r"^(https?://[^\s/?#]+(/[^\s?#]*[^\s/?#])?)?$")
    # The KMS key declared in template.yaml: the first current signing key (the registry takes over from there).
    SIGNING_KMS_KEY_ID: str = ""
    # The signing-key rotation only: how often, and whom the new keys' policies name (comma-separated role ARNs).
    SIGNING_KEY_ROTATION_DAYS: int = Field(default=90, ge=1, le=365)
    ISSUER_ROLE_ARNS: str = ""
    ROTATOR_ROLE_ARN: str = ""
    TOKEN_AUDIENCE: str = Field(default="serverless-jwt-auth-api", min_length=1)
    ACCESS_TOKEN_TTL_SECONDS: int = Field(default=900, ge=1, le=3600)
    REFRESH_TOKEN_TTL_SECONDS: int = Field(default=604_800, ge=60, le=2_592_000)
    REFRESH_REUSE_GRACE_SECONDS: int = Field(default=10, ge=0, le=60)
    # Auth0's "maximum lifetime": a session ends this long after its login however often it is refreshed.
    SESSION_MAX_LIFETIME_SECONDS: int = Field(default=2_592_000, ge=3600, le=31_536_000)
    # RFC 8725 s3.10 asks for explicit validation; a few seconds absorb clock skew between Lambdas.
    CLOCK_LEEWAY_SECONDS: int = Field(default=5, ge=0, le=60)
    KEY_CACHE_SECONDS: int = Field(default=300, ge=0, le=3600)
    BCRYPT_COST: int = Field(default=12, ge=4, le=16)
    ALLOW_WEAK_BCRYPT_COST: bool = False
    ALLOWED_ORIGINS: str = ""
    COOKIE_SECURE: bool = True
    MAX_BODY_BYTES: int = Field(default=16_384, ge=1024, le=1_048_576)
    # Email verification and password reset (CONTRACT.md "Emailed links").
    REQUIRE_VERIFIED_EMAIL: bool = True
    SENDER_EMAIL: str = Field(default="no-reply@example.com", pattern=r"^[^@\s]+@[^@\s]+$")
    APP_BASE_URL: str = Field(default="https://app.example.com", pattern=r"^https?://[^\s?#]+$")
    # forgot and resend answer no sooner than this after the request arrived, whatever they did (no enumeration by
    # timing: the SES call happens only for an address that gets a mail).
    MAIL_RESPONSE_SECONDS: float = Field(default=0.5, ge=0, le=5)

    @model_validator(mode="after")
    def _refuse_weak_bcrypt_cost(self) -> Settings:
        if self.BCRYPT_COST < MIN_PRODUCTION_BCRYPT_COST and not self.ALLOW_WEAK_BCRYPT_COST:
            raise ValueError(
                f"BCRYPT_COST={self.BCRYPT_COST} is below {MIN_PRODUCTION_BCRYPT_COST}; "
                "set ALLOW_WEAK_BCRYPT_COST=true only for local runs and tests"
            )
        return self

    @model_validator(mode="after")
    def _refuse_wildcard_origins(self) -> Settings:
        # The refresh cookie makes CORS credentialed: a wildcard (or "null") origin would hand it to any site.
        for origin in self.allowed_origins:
            if "*" in origin or origin == "null" or not origin.startswith(("https://", "http://")):
                raise ValueError(
                    f"ALLOWED_ORIGINS must list exact origins like https://app.example.com, not {origin!r}"
                )
        return self

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        """The CORS allowlist: exact origins, never a wildcard."""
        return tuple(origin.strip() for origin in self.ALLOWED_ORIGINS.split(",") if origin.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, validated once; a missing or bad setting fails here with a clear message."""
    try:
        return Settings.model_validate(dict(os.environ))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"invalid configuration: {problems}") from None

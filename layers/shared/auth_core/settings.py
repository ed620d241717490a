"""One validated settings object, read once from the environment (names equal the env var names).

Read without pydantic: the authorizer imports these settings and nothing else that would need it, and pydantic's model
machinery was a quarter of its cold start. Each setting is declared with its type, default and bounds; the reader
accepts what the former pydantic model accepted from an environment (integers as decimal text, "1_000" and "12.0"
too; booleans as true/false, 1/0, yes/no, on/off, t/f, y/n in any case) and names each bad setting without echoing
its value.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# OWASP ASVS 6.2 / the requirements: bcrypt cost at least 12 in production.
MIN_PRODUCTION_BCRYPT_COST = 12

_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
_INTEGER = re.compile(r"[+-]?[0-9](_?[0-9])*(\.0+)?")  # "1_000" and "12.0" are integers too
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


class SettingsError(RuntimeError):
    """The environment does not describe a usable configuration; raised at start, before any request."""


def setting(
    default: Any = dataclasses.MISSING,
    *,
    ge: float | None = None,
    le: float | None = None,
    min_length: int = 0,
    pattern: str | None = None,
) -> Any:
    """A setting's default (none: required) and bounds: numbers within [ge, le], text at least `min_length` long and
    matching `pattern` whole."""
    bounds = {"ge": ge, "le": le, "min_length": min_length, "pattern": re.compile(pattern) if pattern else None}
    return dataclasses.field(default=default, metadata=bounds)


@dataclass(frozen=True)
class Settings:
    """Everything a function reads from its environment. Secrets are never settings: only the secret's ARN is."""

    USERS_TABLE_NAME: str = setting(min_length=3)
    TOKENS_TABLE_NAME: str = setting(min_length=3)
    SIGNING_KEY_SECRET_ARN: str = setting(min_length=1)
    # The `iss` claim: the API's public base URL (a custom domain). Empty: the API's stage URL, learned from the
    # requests API Gateway sends (the template can't name the API in its functions' settings: that is a cycle).
    TOKEN_ISSUER: str = setting("", pattern=r"(https?://[^\s/?#]+(/[^\s?#]*[^\s/?#])?)?")
    # The KMS key declared in template.yaml: the first current signing key (the registry takes over from there).
    SIGNING_KMS_KEY_ID: str = setting("")
    # The signing-key rotation only: how often, and whom the new keys' policies name (comma-separated role ARNs).
    SIGNING_KEY_ROTATION_DAYS: int = setting(90, ge=1, le=365)
    ISSUER_ROLE_ARNS: str = setting("")
    ROTATOR_ROLE_ARN: str = setting("")
    TOKEN_AUDIENCE: str = setting("serverless-jwt-auth-api", min_length=1)
    ACCESS_TOKEN_TTL_SECONDS: int = setting(900, ge=1, le=3600)
    REFRESH_TOKEN_TTL_SECONDS: int = setting(604_800, ge=60, le=2_592_000)
    REFRESH_REUSE_GRACE_SECONDS: int = setting(10, ge=0, le=60)
    # Auth0's "maximum lifetime": a session ends this long after its login however often it is refreshed.
    SESSION_MAX_LIFETIME_SECONDS: int = setting(2_592_000, ge=3600, le=31_536_000)
    # RFC 8725 s3.10 asks for explicit validation; a few seconds absorb clock skew between Lambdas.
    CLOCK_LEEWAY_SECONDS: int = setting(5, ge=0, le=60)
    KEY_CACHE_SECONDS: int = setting(300, ge=0, le=3600)
    BCRYPT_COST: int = setting(12, ge=4, le=16)
    ALLOW_WEAK_BCRYPT_COST: bool = setting(False)
    ALLOWED_ORIGINS: str = setting("")
    COOKIE_SECURE: bool = setting(True)
    MAX_BODY_BYTES: int = setting(16_384, ge=1024, le=1_048_576)
    # Email verification and password reset (CONTRACT.md "Emailed links").
    REQUIRE_VERIFIED_EMAIL: bool = setting(True)
    SENDER_EMAIL: str = setting("no-reply@example.com", pattern=r"[^@\s]+@[^@\s]+")
    APP_BASE_URL: str = setting("https://app.example.com", pattern=r"https?://[^\s?#]+")
    # forgot and resend answer no sooner than this after the request arrived, whatever they did (no enumeration by
    # timing: the SES call happens only for an address that gets a mail).
    MAIL_RESPONSE_SECONDS: float = setting(0.5, ge=0, le=5)

    @classmethod
    def from_environ(cls, environ: dict[str, str]) -> Settings:
        """The settings `environ` describes; SettingsError names every bad or missing one (never its value)."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for spec in dataclasses.fields(cls):
            raw = environ.get(spec.name)
            if raw is None:
                if spec.default is dataclasses.MISSING:
                    problems.append(f"{spec.name}: Field required")
                continue
            try:
                values[spec.name] = _parse(raw, spec.type, spec.metadata)
            except ValueError as exc:
                problems.append(f"{spec.name}: {exc}")
        if not problems:
            settings = cls(**values)
            problems = settings._problems()
        if problems:
            raise SettingsError(f"invalid configuration: {'; '.join(problems)}")
        return settings

    def _problems(self) -> list[str]:
        problems = []
        if self.BCRYPT_COST < MIN_PRODUCTION_BCRYPT_COST and not self.ALLOW_WEAK_BCRYPT_COST:
            problems.append(
                f"settings: BCRYPT_COST={self.BCRYPT_COST} is below {MIN_PRODUCTION_BCRYPT_COST}; "
                "set ALLOW_WEAK_BCRYPT_COST=true only for local runs and tests"
            )
        # The refresh cookie makes CORS credentialed: a wildcard (or "null") origin would hand it to any site.
        for origin in self.allowed_origins:
            if "*" in origin or origin == "null" or not origin.startswith(("https://", "http://")):
                problems.append(
                    f"settings: ALLOWED_ORIGINS must list exact origins like https://app.example.com, not {origin!r}"
                )
        return problems

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        """The CORS allowlist: exact origins, never a wildcard."""
        return tuple(origin.strip() for origin in self.ALLOWED_ORIGINS.split(",") if origin.strip())


def _parse(raw: str, kind: Any, bounds: Any) -> str | int | float | bool:
    value: str | int | float | bool
    if kind == "bool":
        word = raw.lower()
        if word not in _TRUE | _FALSE:
            raise ValueError("Input should be a valid boolean")
        return word in _TRUE
    if kind == "int":
        if not _INTEGER.fullmatch(raw.strip()):
            raise ValueError("Input should be a valid integer")
        value = int(raw.strip().partition(".")[0])
    elif kind == "float":
        if not _NUMBER.fullmatch(raw.strip()) or not math.isfinite(float(raw)):
            raise ValueError("Input should be a valid number")
        value = float(raw)
    else:
        value = raw
        if len(value) < bounds["min_length"]:
            raise ValueError(f"String should have at least {bounds['min_length']} characters")
        if bounds["pattern"] is not None and not bounds["pattern"].fullmatch(value):
            raise ValueError(f"String should match pattern '{bounds['pattern'].pattern}'")
        return value
    if bounds["ge"] is not None and value < bounds["ge"]:
        raise ValueError(f"Input should be greater than or equal to {bounds['ge']}")
    if bounds["le"] is not None and value > bounds["le"]:
        raise ValueError(f"Input should be less than or equal to {bounds['le']}")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, validated once; a missing or bad setting fails here with a clear message."""
    return Settings.from_environ(dict(os.environ))

"""Objects built lazily on first use and reused while the Lambda stays warm; `reset()` forgets them (tests)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, cast

import botocore.session
from botocore.config import Config

from auth_core.access import AccessVerifier
from auth_core.attempts import AttemptsRepository
from auth_core.cursors import CursorCodec
from auth_core.keys import KeyStore
from auth_core.sessions import SessionsRepository
from auth_core.settings import get_settings
from auth_core.tokens import TokenService
from auth_core.users import UsersRepository

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from auth_core.account import AccountService
    from auth_core.services import AdminService, AuthService

# A dependency that hangs must become a 503 well before the function's own 10 s timeout: two tries in all
# (`total_max_attempts` counts the first one; `max_attempts` would not), so at worst about 2 x 2 s plus a backoff.
_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2})


@cache
def _aws() -> botocore.session.Session:
    # botocore's own session: boto3 would add ~0.25 s of imports (s3transfer and friends) to every cold start.
    return botocore.session.get_session()


@cache
def dynamodb() -> DynamoDBClient:
    return cast("DynamoDBClient", _aws().create_client("dynamodb", config=_CLIENT_CONFIG))


@cache
def secretsmanager() -> SecretsManagerClient:
    return cast("SecretsManagerClient", _aws().create_client("secretsmanager", config=_CLIENT_CONFIG))


@cache
def sesv2() -> Any:
    """The SES v2 client, created on first use: only the functions that send mail ever build it."""
    return _aws().create_client("sesv2", config=_CLIENT_CONFIG)


@cache
def users_repository() -> UsersRepository:
    return UsersRepository(dynamodb(), get_settings().USERS_TABLE_NAME, cursors=cursor_codec())


@cache
def sessions_repository() -> SessionsRepository:
    settings = get_settings()
    return SessionsRepository(
        dynamodb(), tokens_table=settings.TOKENS_TABLE_NAME, users_table=settings.USERS_TABLE_NAME
    )


@cache
def key_store() -> KeyStore:
    """The service's secret (current and previous versions), cached with a bounded age."""
    settings = get_settings()
    return KeyStore(secretsmanager(), settings.SIGNING_KEY_SECRET_ARN, max_age=settings.KEY_CACHE_SECONDS)


@cache
def cursor_codec() -> CursorCodec:
    """Pagination cursors, sealed with a key derived from the same secret (nothing is fetched until one is used)."""
    return CursorCodec(key_store())


@cache
def token_service() -> TokenService:
    settings = get_settings()
    return TokenService(
        key_store(),
        issuer=settings.TOKEN_ISSUER,
        audience=settings.TOKEN_AUDIENCE,
        access_ttl=settings.ACCESS_TOKEN_TTL_SECONDS,
        leeway=settings.CLOCK_LEEWAY_SECONDS,
    )


# The services (and pydantic, through the models) are imported on first use: the authorizer never needs them.
@cache
def auth_service() -> AuthService:
    from auth_core.devices import DeviceCredentials
    from auth_core.passwords import PasswordHasher
    from auth_core.refresh_tokens import RefreshTokenCodec
    from auth_core.services import AuthService, SessionPolicy

    settings = get_settings()
    return AuthService(
        users=users_repository(),
        sessions=sessions_repository(),
        attempts=AttemptsRepository(dynamodb(), settings.TOKENS_TABLE_NAME),
        tokens=token_service(),
        require_verified_email=settings.REQUIRE_VERIFIED_EMAIL,
        refresh_tokens=RefreshTokenCodec(key_store()),
        devices=DeviceCredentials(key_store()),
        hasher=PasswordHasher(settings.BCRYPT_COST),
        policy=SessionPolicy(
            access_ttl=settings.ACCESS_TOKEN_TTL_SECONDS,
            refresh_ttl=settings.REFRESH_TOKEN_TTL_SECONDS,
            max_lifetime=settings.SESSION_MAX_LIFETIME_SECONDS,
            reuse_grace=settings.REFRESH_REUSE_GRACE_SECONDS,
        ),
    )


@cache
def account_service() -> AccountService:
    from auth_core.account import AccountService
    from auth_core.links import LinksRepository
    from auth_core.mail_quota import MailQuota
    from auth_core.mailer import Mailer
    from auth_core.passwords import PasswordHasher

    settings = get_settings()
    return AccountService(
        users=users_repository(),
        sessions=sessions_repository(),
        attempts=AttemptsRepository(dynamodb(), settings.TOKENS_TABLE_NAME),
        links=LinksRepository(dynamodb(), settings.TOKENS_TABLE_NAME),
        quota=MailQuota(dynamodb(), settings.TOKENS_TABLE_NAME),
        mailer=Mailer(sesv2, sender=settings.SENDER_EMAIL, base_url=settings.APP_BASE_URL),
        hasher=PasswordHasher(settings.BCRYPT_COST),
        mail_response_seconds=settings.MAIL_RESPONSE_SECONDS,
    )


@cache
def admin_service() -> AdminService:
    from auth_core.services import AdminService

    return AdminService(users=users_repository())


@cache
def access_verifier() -> AccessVerifier:
    return AccessVerifier(token_service(), sessions_repository())


def reset() -> None:
    """Forget every cached object and the settings, so the next call sees the current environment."""
    for factory in (
        _aws,
        dynamodb,
        secretsmanager,
        sesv2,
        key_store,
        cursor_codec,
        users_repository,
        sessions_repository,
        token_service,
        auth_service,
        account_service,
        admin_service,
        access_verifier,
    ):
        factory.cache_clear()
    get_settings.cache_clear()

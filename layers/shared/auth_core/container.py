"""Objects built lazily on first use and reused while the Lambda stays warm; `reset()` forgets them (tests)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, cast

from botocore.config import Config

from auth_core import botocore_docs, snapstart
from auth_core.access import AccessVerifier
from auth_core.attempts import AttemptsRepository
from auth_core.cursors import CursorCodec
from auth_core.keys import KeyStore
from auth_core.public_keys import PublicKeys
from auth_core.sessions import SessionsRepository
from auth_core.settings import SettingsError, get_settings
from auth_core.signing_keys import KeyRegistry
from auth_core.tokens import TokenService
from auth_core.users import UsersRepository

if TYPE_CHECKING:
    import botocore.session
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from auth_core.account import AccountService
    from auth_core.discovery import Discovery
    from auth_core.services import AdminService, AuthService
    from auth_core.signer import KmsSigner
    from auth_core.signing_key_rotation import SigningKeyRotator

# A dependency that hangs must become a 503 well before the function's own 10 s timeout: two tries in all
# (`total_max_attempts` counts the first one; `max_attempts` would not), so at worst about 2 x 2 s plus a backoff.
_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2})


@cache
def _aws() -> botocore.session.Session:
    # botocore's own session: boto3 would add ~0.25 s of imports (s3transfer and friends) to every cold start; and
    # botocore without its documentation code (auth_core.botocore_docs), imported here, on first use; reading its data
    # for our services only (auth_core.botocore_data).
    botocore_docs.install()
    import botocore.session

    from auth_core import botocore_data

    session = botocore.session.get_session()
    loader = botocore_data.loader(session.get_config_variable("data_path"))
    if loader is not None:
        session.register_component("data_loader", loader)
    return session


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
def kms() -> Any:  # boto3-stubs for KMS are not in the lock: the calls are proven on moto
    """Only the functions that sign build this: the authorizer and the JWKS function never load a KMS client."""
    return _aws().create_client("kms", config=_CLIENT_CONFIG)


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
def key_registry() -> KeyRegistry:
    return KeyRegistry(dynamodb(), get_settings().TOKENS_TABLE_NAME)


@cache
def public_keys() -> PublicKeys:
    """The public keys that verify access tokens, cached with a bounded age."""
    return PublicKeys(key_registry(), max_age=get_settings().KEY_CACHE_SECONDS)


@cache
def kms_signer() -> KmsSigner:
    from auth_core.signer import KmsSigner

    return KmsSigner(kms(), key_registry(), first_key_id=get_settings().SIGNING_KMS_KEY_ID)


@cache
def signing_key_rotator() -> SigningKeyRotator:
    """The rotation of the access-token signing key (the rotation function and `make rotate-key-emergency`)."""
    from auth_core.signing_key_rotation import IN_FLIGHT_SECONDS, SigningKeyRotator, key_policy

    settings = get_settings()
    if not settings.ISSUER_ROLE_ARNS or not settings.ROTATOR_ROLE_ARN:
        raise SettingsError("ISSUER_ROLE_ARNS and ROTATOR_ROLE_ARN name whom a new signing key's policy trusts")
    issuers = [arn.strip() for arn in settings.ISSUER_ROLE_ARNS.split(",") if arn.strip()]
    return SigningKeyRotator(
        kms(),
        key_registry(),
        kms_signer(),
        policy=key_policy(issuer_roles=issuers, rotator_role=settings.ROTATOR_ROLE_ARN),
        rotation_seconds=settings.SIGNING_KEY_ROTATION_DAYS * 86_400,
        retention_seconds=settings.ACCESS_TOKEN_TTL_SECONDS + settings.CLOCK_LEEWAY_SECONDS + IN_FLIGHT_SECONDS,
    )


_stage_url: list[str] = []  # the API's stage URL, learned from the first request (see `use_stage`)


def use_stage(*, api_id: str | None, region: str | None, stage: str | None) -> None:
    """Learn the API's stage URL from a request API Gateway sent (the default issuer when TOKEN_ISSUER is empty)."""
    if not _stage_url and api_id and region and stage:
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        _stage_url.append(f"https://{api_id}.execute-api.{region}.{suffix}/{stage}")


def issuer() -> str:
    """The `iss` of our access tokens: TOKEN_ISSUER (the public base URL), else the stage URL of the API."""
    configured = get_settings().TOKEN_ISSUER
    if configured:
        return configured
    if not _stage_url:
        raise SettingsError("TOKEN_ISSUER is empty and no API Gateway request named the API's stage yet")
    return _stage_url[0]


@cache
def discovery() -> Discovery:
    from auth_core.discovery import JWKS_CACHE_SECONDS, Discovery

    return Discovery(PublicKeys(key_registry(), max_age=JWKS_CACHE_SECONDS), issuer=issuer)


@cache
def token_service() -> TokenService:
    settings = get_settings()
    return TokenService(
        public_keys(),
        signer=kms_signer,
        issuer=issuer,
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
        public_keys=public_keys(),
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
    return AccessVerifier(token_service(), sessions_repository(), public_keys())


_CLIENTS = (_aws, dynamodb, secretsmanager, sesv2, kms)
_HOLDERS = (
    key_store,
    key_registry,
    public_keys,
    kms_signer,
    signing_key_rotator,
    discovery,
    cursor_codec,
    users_repository,
    sessions_repository,
    token_service,
    auth_service,
    account_service,
    admin_service,
    access_verifier,
)


def forget_cached_keys() -> None:
    """Build every object that holds keys (or holds one that does) again on first use; keep the AWS clients
    (auth_core.snapstart, after a restore)."""
    for factory in _HOLDERS:
        factory.cache_clear()


def reset() -> None:
    """Forget every cached object and the settings, so the next call sees the current environment."""
    for factory in (*_CLIENTS, *_HOLDERS):
        factory.cache_clear()
    _stage_url.clear()
    get_settings.cache_clear()


# With SnapStart on, the runtime runs auth_core.snapstart's hooks around the snapshot (nothing happens elsewhere).
snapstart.register_with_runtime()

"""auth_core.settings: the environment, validated once, with clear errors for a bad configuration.

Every test changes os.environ through monkeypatch (restored afterwards) and clears get_settings' cache before and
after, so no other test sees these environments.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from auth_core.settings import SettingsError, get_settings

REQUIRED = {
    "USERS_TABLE_NAME": "users",
    "TOKENS_TABLE_NAME": "tokens",
    "SIGNING_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:signing-key-AbCdEf",
}
OPTIONAL = (
    "TOKEN_ISSUER",
    "TOKEN_AUDIENCE",
    "ACCESS_TOKEN_TTL_SECONDS",
    "REFRESH_TOKEN_TTL_SECONDS",
    "REFRESH_REUSE_GRACE_SECONDS",
    "CLOCK_LEEWAY_SECONDS",
    "KEY_CACHE_SECONDS",
    "BCRYPT_COST",
    "ALLOW_WEAK_BCRYPT_COST",
    "ALLOWED_ORIGINS",
    "COOKIE_SECURE",
    "MAX_BODY_BYTES",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Only the required settings set; everything else at its default."""
    get_settings.cache_clear()
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    for name in OPTIONAL:
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch
    get_settings.cache_clear()


def test_get_settings_only_required_set_uses_defaults(env: pytest.MonkeyPatch) -> None:
    settings = get_settings()

    assert {name: getattr(settings, name) for name in REQUIRED} == REQUIRED
    # No issuer configured: the API's stage URL, learned from API Gateway's events (auth_core.container.issuer)
    assert (settings.TOKEN_ISSUER, settings.TOKEN_AUDIENCE) == ("", "serverless-jwt-auth-api")
    assert (settings.ACCESS_TOKEN_TTL_SECONDS, settings.REFRESH_TOKEN_TTL_SECONDS) == (900, 604_800)
    assert (settings.REFRESH_REUSE_GRACE_SECONDS, settings.CLOCK_LEEWAY_SECONDS) == (10, 5)
    assert (settings.KEY_CACHE_SECONDS, settings.MAX_BODY_BYTES) == (300, 16_384)
    assert (settings.BCRYPT_COST, settings.ALLOW_WEAK_BCRYPT_COST) == (12, False)
    assert settings.COOKIE_SECURE is True
    assert settings.allowed_origins == ()


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_get_settings_required_setting_missing_names_it(env: pytest.MonkeyPatch, name: str) -> None:
    env.delenv(name)

    with pytest.raises(SettingsError, match=name):
        get_settings()


def test_get_settings_table_name_too_short_names_it(env: pytest.MonkeyPatch) -> None:
    env.setenv("USERS_TABLE_NAME", "u")

    with pytest.raises(SettingsError, match="USERS_TABLE_NAME"):
        get_settings()


@pytest.mark.parametrize("cost", ["4", "11"])
def test_get_settings_weak_bcrypt_cost_without_opt_in_refused(env: pytest.MonkeyPatch, cost: str) -> None:
    env.setenv("BCRYPT_COST", cost)

    with pytest.raises(SettingsError, match=f"BCRYPT_COST={cost}") as error:
        get_settings()

    assert "ALLOW_WEAK_BCRYPT_COST" in str(error.value)


@pytest.mark.parametrize("opt_in", ["false", "0", "no", ""])
def test_get_settings_weak_bcrypt_cost_with_opt_in_not_true_refused(env: pytest.MonkeyPatch, opt_in: str) -> None:
    env.setenv("BCRYPT_COST", "11")
    env.setenv("ALLOW_WEAK_BCRYPT_COST", opt_in)

    with pytest.raises(SettingsError):
        get_settings()


def test_get_settings_weak_bcrypt_cost_with_opt_in_accepted(env: pytest.MonkeyPatch) -> None:
    env.setenv("BCRYPT_COST", "11")
    env.setenv("ALLOW_WEAK_BCRYPT_COST", "true")

    assert get_settings().BCRYPT_COST == 11


@pytest.mark.parametrize("cost", ["12", "14"])
def test_get_settings_production_bcrypt_cost_accepted(env: pytest.MonkeyPatch, cost: str) -> None:
    env.setenv("BCRYPT_COST", cost)

    assert int(cost) == get_settings().BCRYPT_COST


@pytest.mark.parametrize("cost", ["3", "17", "twelve"])
def test_get_settings_bcrypt_cost_out_of_range_refused_even_with_opt_in(env: pytest.MonkeyPatch, cost: str) -> None:
    env.setenv("BCRYPT_COST", cost)
    env.setenv("ALLOW_WEAK_BCRYPT_COST", "true")

    with pytest.raises(SettingsError, match="BCRYPT_COST"):
        get_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ACCESS_TOKEN_TTL_SECONDS", "0"),
        ("ACCESS_TOKEN_TTL_SECONDS", "3601"),
        ("ACCESS_TOKEN_TTL_SECONDS", "15m"),
        ("REFRESH_TOKEN_TTL_SECONDS", "59"),
        ("CLOCK_LEEWAY_SECONDS", "-1"),
        ("CLOCK_LEEWAY_SECONDS", "61"),
        ("COOKIE_SECURE", "maybe"),
        ("TOKEN_ISSUER", "serverless-jwt-auth"),
        ("TOKEN_ISSUER", "https://auth.example.com/"),
        ("TOKEN_ISSUER", "https://auth.example.com/?x"),
    ],
)
def test_get_settings_value_out_of_bounds_names_it(env: pytest.MonkeyPatch, name: str, value: str) -> None:
    env.setenv(name, value)

    with pytest.raises(SettingsError, match=name):
        get_settings()


def test_get_settings_error_message_never_echoes_values(env: pytest.MonkeyPatch) -> None:
    env.setenv("ACCESS_TOKEN_TTL_SECONDS", "s3cr3t-looking-value")

    with pytest.raises(SettingsError) as error:
        get_settings()

    assert "s3cr3t-looking-value" not in str(error.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ()),
        ("https://app.example.com", ("https://app.example.com",)),
        ("https://app.example.com,http://127.0.0.1:3000", ("https://app.example.com", "http://127.0.0.1:3000")),
        (" https://a.example , https://b.example ,, ,", ("https://a.example", "https://b.example")),
        (" , ", ()),
    ],
)
def test_allowed_origins_comma_separated_parsed_and_trimmed(
    env: pytest.MonkeyPatch, value: str, expected: tuple[str, ...]
) -> None:
    env.setenv("ALLOWED_ORIGINS", value)

    assert get_settings().allowed_origins == expected


# With allow_credentials=True, a "*" would make CORS reflect ANY origin with Access-Control-Allow-Credentials: true.
@pytest.mark.parametrize(
    "value", ["*", "https://app.example.com,*", "https://*.example.com", "null", "app.example.com"]
)
def test_get_settings_wildcard_or_inexact_origin_refused(env: pytest.MonkeyPatch, value: str) -> None:
    env.setenv("ALLOWED_ORIGINS", value)

    with pytest.raises(SettingsError, match="ALLOWED_ORIGINS"):
        get_settings()


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("true", True)])
def test_get_settings_cookie_secure_parsed(env: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    env.setenv("COOKIE_SECURE", value)

    assert get_settings().COOKIE_SECURE is expected


def test_get_settings_second_call_reuses_first_until_cache_cleared(env: pytest.MonkeyPatch) -> None:
    first = get_settings()
    env.setenv("TOKEN_ISSUER", "https://changed.example.com")

    assert get_settings() is first
    get_settings.cache_clear()
    assert get_settings().TOKEN_ISSUER == "https://changed.example.com"


def test_settings_frozen_after_validation(env: pytest.MonkeyPatch) -> None:
    settings = get_settings()

    with pytest.raises(AttributeError):
        settings.BCRYPT_COST = 4  # type: ignore[misc]

"""POST /auth/login."""

from __future__ import annotations

import base64
import json

import bcrypt
import pytest

from tests.conftest import PASSWORD


def claims_of(token: str) -> tuple[dict, dict]:
    header, payload, _ = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload)


@pytest.fixture
def ada(api):
    assert api.call("POST", "/auth/register", body={"email": "ada@example.com", "password": PASSWORD}).status == 201


def test_login_right_password_returns_token_pair_refresh_and_device_cookies(api, ada):
    reply = api.call("POST", "/auth/login", body={"email": "Ada@Example.com", "password": PASSWORD})

    assert reply.status == 200
    assert set(reply.body) == {"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"}
    assert (reply.body["token_type"], reply.body["expires_in"], reply.body["refresh_expires_in"]) == (
        "Bearer",
        900,
        604800,
    )
    header, claims = claims_of(reply.body["access_token"])
    # ES256, named by the thumbprint of the one key the JWKS publishes; `iss` is the API's public base URL.
    [published] = api.call("GET", "/.well-known/jwks.json").body["keys"]
    assert header == {"alg": "ES256", "typ": "at+jwt", "kid": published["kid"]}
    assert set(claims) == {"iss", "aud", "sub", "email", "role", "sid", "iat", "exp", "jti"}
    assert claims["iss"] == "https://auth.example.com"
    assert (claims["email"], claims["role"]) == ("ada@example.com", "user")
    device, cookie = reply.cookies
    # CONTRACT.md "Login throttling": the known-device credential goes to the login route only.
    assert device.startswith("device=dev1.")
    device_attributes = {part.strip() for part in device.split(";")[1:]}
    assert {"HttpOnly", "Secure", "SameSite=Strict", "Path=/auth/login", "Max-Age=31536000"} <= device_attributes
    assert cookie.startswith(f"refresh_token={reply.body['refresh_token']};")
    attributes = {part.strip().split("=")[0] for part in cookie.split(";")[1:]}
    assert {"HttpOnly", "Secure", "Path", "Max-Age", "SameSite"} <= attributes
    assert "SameSite=Strict" in cookie and "Path=/auth" in cookie and "Max-Age=604800" in cookie
    assert reply.header("Cache-Control") == "no-store"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "ada@example.com", "password": PASSWORD + "x"},
        {"email": "nobody@example.com", "password": PASSWORD},
    ],
    ids=["wrong-password", "unknown-email"],
)
def test_login_bad_credentials_answers_same_401_after_one_bcrypt_check(api, ada, monkeypatch, body):
    checks = []
    real_checkpw = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda *args: checks.append(1) or real_checkpw(*args))

    reply = api.call("POST", "/auth/login", body=body)

    assert reply.status == 401
    assert reply.body == {"error": "invalid_credentials", "message": "The email or password is incorrect."}
    assert reply.header("x-amzn-Remapped-WWW-Authenticate").startswith("Bearer ")  # renamed by API Gateway
    assert len(checks) == 1  # unknown emails cost the same bcrypt work: no enumeration by timing
    assert reply.cookies == []


def test_login_disabled_user_answers_invalid_credentials(api, signed_in):
    from auth_core import container

    admin = signed_in("root@example.com", role="admin")
    user = signed_in("bob@example.com")
    container.admin_service().update_user(
        actor_id=admin["user_id"], user_id=user["user_id"], role=None, status="disabled"
    )

    reply = api.call("POST", "/auth/login", body={"email": "bob@example.com", "password": PASSWORD})

    assert reply.status == 401
    assert reply.body["error"] == "invalid_credentials"


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "ada@example.com"}, {"email": "ada@example.com", "password": ""}, {"email": "x", "password": "y"}],
)
def test_login_invalid_body_answers_400_validation_error(api, body):
    reply = api.call("POST", "/auth/login", body=body)

    assert reply.status == 400
    assert reply.body["error"] == "validation_error"
    assert reply.body["details"]

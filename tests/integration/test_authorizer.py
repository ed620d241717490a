"""The Lambda TOKEN authorizer: Allow with the caller for a live access token, Deny with the reason otherwise, and
raise (API Gateway's AUTHORIZER_FAILURE) when a dependency fails. Driven with events/authorizer-token.json."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from auth_core import container
from auth_core.errors import DependencyError
from tests.conftest import PASSWORD
from tests.lambda_events import LambdaContext, handler_of, load_event
from tests.signing import resign

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/GET/me"
WHOLE_API = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/*/*"


def authorize(authorization: str) -> dict[str, Any]:
    event = load_event("authorizer-token")
    event["authorizationToken"] = authorization
    return handler_of("authorizer")(event, LambdaContext())


def statement(result: dict[str, Any]) -> dict[str, Any]:
    [only] = result["policyDocument"]["Statement"]
    return only


def assert_denied(result: dict[str, Any], error: str) -> None:
    assert statement(result)["Effect"] == "Deny", result
    assert result["context"]["error"] == error
    assert result["context"]["message"]
    assert result["principalId"] == "anonymous"


def assert_allowed(result: dict[str, Any], *, sub: str, role: str) -> None:
    assert statement(result)["Effect"] == "Allow", result
    assert (result["principalId"], result["context"]["sub"], result["context"]["role"]) == (sub, sub, role)


def claims_of(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload)


def random_key_token(token: str, **changes: Any) -> str:
    """The token's claims (with `changes`) signed by a P-256 key of the attacker's, under the token's own header."""
    from cryptography.hazmat.primitives.asymmetric import ec

    header, claims = claims_of(token)
    return jwt.encode(claims | changes, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers=header)


def login() -> str:
    reply = container.auth_service().login(email="ada@example.com", password=PASSWORD)
    return reply.access_token


@pytest.fixture
def ada(signed_in: Any) -> dict[str, Any]:
    return signed_in("ada@example.com")


@pytest.fixture
def root(signed_in: Any) -> dict[str, Any]:
    return signed_in("root@example.com", role="admin")


# ---------------------------------------------------------------------------------------------------------------
# Allow


def test_authorize_fresh_access_token_allows_whole_api_with_caller(ada: dict[str, Any]) -> None:
    result = authorize(f"Bearer {ada['access_token']}")

    assert statement(result) == {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [WHOLE_API]}
    assert result["principalId"] == ada["user_id"]
    sid = ada["refresh_token"].split(".")[1]
    assert result["context"] == {"sub": ada["user_id"], "email": "ada@example.com", "role": "user", "sid": sid}


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "  Bearer"])
def test_authorize_scheme_any_case_allows(ada: dict[str, Any], scheme: str) -> None:
    assert_allowed(authorize(f"{scheme} {ada['access_token']}"), sub=ada["user_id"], role="user")


def test_authorize_admin_token_allows_with_admin_role(root: dict[str, Any]) -> None:
    assert_allowed(authorize(f"Bearer {root['access_token']}"), sub=root["user_id"], role="admin")


# ---------------------------------------------------------------------------------------------------------------
# Deny: the header and the token itself


@pytest.mark.parametrize(
    "authorization",
    [
        "{token}",
        "Basic xyz",
        "Basic {token}",
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Bearer {token} extra",
        "Token {token}",
    ],
)
def test_authorize_malformed_authorization_denies_invalid_token(ada: dict[str, Any], authorization: str) -> None:
    result = authorize(authorization.format(token=ada["access_token"]))

    assert_denied(result, "invalid_token")
    assert result["context"]["message"] == "The Authorization header must be: Bearer <access token>."
    assert statement(result)["Resource"] == [WHOLE_API]


def test_authorize_empty_authorization_denies_missing_token(aws: dict[str, Any]) -> None:
    assert_denied(authorize(""), "missing_token")


def test_authorize_refresh_token_as_access_denies_invalid_token(ada: dict[str, Any]) -> None:
    assert_denied(authorize(f"Bearer {ada['refresh_token']}"), "invalid_token")


def test_authorize_expired_token_denies_token_expired(aws: dict[str, Any], ada: dict[str, Any]) -> None:
    _, claims = claims_of(ada["access_token"])
    expired = resign(aws["kms"], ada["access_token"], iat=claims["iat"] - 3600, exp=claims["exp"] - 3600)

    result = authorize(f"Bearer {expired}")

    assert_denied(result, "token_expired")
    assert "expired" in result["context"]["message"]


def test_authorize_resigned_with_real_key_allows(aws: dict[str, Any], ada: dict[str, Any]) -> None:
    # The control for the forgeries below: re-signing unchanged claims with the real key is accepted.
    result = authorize(f"Bearer {resign(aws['kms'], ada['access_token'])}")

    assert_allowed(result, sub=ada["user_id"], role="user")


def test_authorize_different_key_right_kid_denies_invalid_token(aws: dict[str, Any], ada: dict[str, Any]) -> None:
    forged = random_key_token(ada["access_token"], role="admin")

    assert_denied(authorize(f"Bearer {forged}"), "invalid_token")


@pytest.mark.parametrize("kid", ["k9", "../../dev/null", "' OR 1=1 --", "SIGNING_KEYS"])
def test_authorize_unknown_kid_denies_invalid_token(aws: dict[str, Any], ada: dict[str, Any], kid: str) -> None:
    header, claims = claims_of(ada["access_token"])
    key = container.key_registry().read().find(header["kid"])
    assert key is not None
    from tests.signing import es256_token

    forged = es256_token(aws["kms"], key.key_id, header | {"kid": kid}, claims)

    assert_denied(authorize(f"Bearer {forged}"), "invalid_token")


def test_authorize_tampered_role_denies_invalid_token(ada: dict[str, Any]) -> None:
    header, _, signature = ada["access_token"].split(".")
    _, claims = claims_of(ada["access_token"])
    tampered = base64.urlsafe_b64encode(json.dumps(claims | {"role": "admin"}).encode()).rstrip(b"=").decode()

    assert_denied(authorize(f"Bearer {header}.{tampered}.{signature}"), "invalid_token")


# ---------------------------------------------------------------------------------------------------------------
# Deny: revocation, and the user as stored now


def test_authorize_disabled_user_denies_token_revoked(ada: dict[str, Any], root: dict[str, Any]) -> None:
    container.admin_service().update_user(
        actor_id=root["user_id"], user_id=ada["user_id"], role=None, status="disabled"
    )

    assert_denied(authorize(f"Bearer {ada['access_token']}"), "token_revoked")
    assert_allowed(authorize(f"Bearer {root['access_token']}"), sub=root["user_id"], role="admin")


def test_authorize_disabled_user_token_minted_after_disable_denies_token_revoked(
    aws: dict[str, Any], ada: dict[str, Any], root: dict[str, Any]
) -> None:
    # A token issued after the disable (a login racing it): only the user's status can refuse it.
    container.admin_service().update_user(
        actor_id=root["user_id"], user_id=ada["user_id"], role=None, status="disabled"
    )
    _, claims = claims_of(ada["access_token"])
    later = resign(aws["kms"], ada["access_token"], iat=claims["iat"] + 1, jti="minted-later")

    assert_denied(authorize(f"Bearer {later}"), "token_revoked")


def test_authorize_reenabled_user_old_token_still_denied(ada: dict[str, Any], root: dict[str, Any]) -> None:
    admin = container.admin_service()
    admin.update_user(actor_id=root["user_id"], user_id=ada["user_id"], role=None, status="disabled")
    admin.update_user(actor_id=root["user_id"], user_id=ada["user_id"], role=None, status="active")

    assert_denied(authorize(f"Bearer {ada['access_token']}"), "token_revoked")
    assert_allowed(authorize(f"Bearer {login()}"), sub=ada["user_id"], role="user")


def test_authorize_token_issued_before_logout_all_denies_token_revoked(api: Any, ada: dict[str, Any]) -> None:
    other_session = login()
    assert api.call("POST", "/auth/logout-all", token=ada["access_token"]).status == 204

    assert_denied(authorize(f"Bearer {ada['access_token']}"), "token_revoked")
    assert_denied(authorize(f"Bearer {other_session}"), "token_revoked")
    assert_allowed(authorize(f"Bearer {login()}"), sub=ada["user_id"], role="user")


def test_authorize_token_after_logout_denies_token_revoked(api: Any, ada: dict[str, Any]) -> None:
    other_session = login()
    reply = api.call("POST", "/auth/logout", body={"refresh_token": ada["refresh_token"]}, token=ada["access_token"])
    assert reply.status == 204

    assert_denied(authorize(f"Bearer {ada['access_token']}"), "token_revoked")
    # Only this session's access token is denylisted.
    assert_allowed(authorize(f"Bearer {other_session}"), sub=ada["user_id"], role="user")


def test_authorize_after_role_change_context_has_current_role(ada: dict[str, Any], root: dict[str, Any]) -> None:
    admin = container.admin_service()
    token = f"Bearer {ada['access_token']}"

    admin.update_user(actor_id=root["user_id"], user_id=ada["user_id"], role="admin", status=None)
    assert_allowed(authorize(token), sub=ada["user_id"], role="admin")

    admin.update_user(actor_id=root["user_id"], user_id=ada["user_id"], role="user", status=None)
    assert_allowed(authorize(token), sub=ada["user_id"], role="user")


# ---------------------------------------------------------------------------------------------------------------
# Dependencies failing: raise (AUTHORIZER_FAILURE), never Allow


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "boom"}}, operation)


@pytest.mark.parametrize(
    "failure",
    [
        client_error("InternalServerError", "BatchGetItem"),
        client_error("ProvisionedThroughputExceededException", "BatchGetItem"),
        client_error("ResourceNotFoundException", "BatchGetItem"),
        EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    ],
    ids=lambda e: type(e).__name__ + ":" + str(getattr(e, "response", {}).get("Error", {}).get("Code", "")),
)
def test_authorize_dynamodb_failing_raises(
    monkeypatch: pytest.MonkeyPatch, ada: dict[str, Any], failure: Exception
) -> None:
    def fail(**_: Any) -> Any:
        raise failure

    monkeypatch.setattr(container.dynamodb(), "batch_get_item", fail)

    with pytest.raises(DependencyError):
        authorize(f"Bearer {ada['access_token']}")


def test_authorize_dynamodb_never_processing_keys_raises(monkeypatch: pytest.MonkeyPatch, ada: dict[str, Any]) -> None:
    # Throttled: every attempt hands the keys back unprocessed.
    monkeypatch.setattr("auth_core.sessions.time.sleep", lambda _: None)
    monkeypatch.setattr(
        container.dynamodb(),
        "batch_get_item",
        lambda RequestItems: {"Responses": {}, "UnprocessedKeys": RequestItems},  # noqa: N803
    )

    with pytest.raises(DependencyError):
        authorize(f"Bearer {ada['access_token']}")


def test_authorize_key_registry_failing_on_cold_start_raises(
    monkeypatch: pytest.MonkeyPatch, ada: dict[str, Any]
) -> None:
    container.reset()

    def fail(**_: Any) -> Any:
        raise client_error("InternalServerError", "GetItem")

    monkeypatch.setattr(container.dynamodb(), "get_item", fail)

    with pytest.raises(DependencyError):
        authorize(f"Bearer {ada['access_token']}")


# ---------------------------------------------------------------------------------------------------------------
# Cost


def test_authorize_warm_call_makes_one_dynamodb_round_trip_and_no_secrets_or_kms_call(ada: dict[str, Any]) -> None:
    token = f"Bearer {ada['access_token']}"
    container.reset()  # a cold Lambda
    dynamodb_calls: list[str] = []
    secrets_calls: list[str] = []
    reads: list[dict[str, Any]] = []

    events = container.dynamodb().meta.events
    events.register("before-call.dynamodb", lambda model, **_: dynamodb_calls.append(model.name))
    events.register(
        "before-parameter-build.dynamodb", lambda params, **_: reads.extend(params.get("RequestItems", {}).values())
    )
    container.secretsmanager().meta.events.register(
        "before-call.secrets-manager", lambda model, **_: secrets_calls.append(model.name)
    )
    assert_allowed(authorize(token), sub=ada["user_id"], role="user")
    assert dynamodb_calls == ["GetItem", "BatchGetItem"]  # cold: the public keys, then the revocation read
    dynamodb_calls.clear()
    secrets_calls.clear()
    reads.clear()

    assert_allowed(authorize(token), sub=ada["user_id"], role="user")

    # One read for the denylist entry, the session, the user and the key registry together; zero would mean no
    # revocation check at all. The authorizer verifies with public keys: no secret, and no KMS client at all.
    assert dynamodb_calls == ["BatchGetItem"]
    assert secrets_calls == []
    assert container.kms.cache_info().currsize == 0
    # Strongly consistent: a logout or a disable takes effect on the very next request.
    assert len(reads) == 2
    assert all(read["ConsistentRead"] is True for read in reads)


def test_authorizer_deny_message_is_safe_inside_the_gateway_json_template(aws, monkeypatch):
    from auth_core import container
    from auth_core.errors import InvalidTokenError

    def refuse(token):
        raise InvalidTokenError('a "quoted" \\ message')

    monkeypatch.setattr(container.access_verifier(), "verify", refuse)
    event = load_event("authorizer-token")

    context = handler_of("authorizer")(event, LambdaContext())["context"]

    template = '{"error":"$error","message":"$message"}'
    body = template.replace("$error", context["error"]).replace("$message", context["message"])
    assert json.loads(body)["error"] == "invalid_token"

"""DynamoDB and KMS round trips per request, counted with botocore's event hooks (issue: performance goals).

The signing-key registry rides on the reads each request makes anyway, so ES256 adds no DynamoDB round trip; each
issued access token costs one kms:Sign, and verifying one costs no KMS call at all."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD


def operations_sent(client, service: str) -> list[str]:
    """Every operation `client` sends from now on, in order."""
    seen: list[str] = []
    client.meta.events.register(
        f"before-call.{service}", lambda model, **_: seen.append(model.name), unique_id=f"count-{service}-round-trips"
    )
    return seen


@pytest.fixture
def calls(aws):
    """Every DynamoDB operation the service's client sends, in order."""
    from auth_core import container

    return operations_sent(container.dynamodb(), "dynamodb")


@pytest.fixture
def kms_calls(aws):
    """Every KMS operation the service's client sends, in order."""
    from auth_core import container

    return operations_sent(container.kms(), "kms")


def test_register_is_one_transaction_and_no_read(api, calls):
    """The user and its verification link, together (then the mail, through SES)."""
    api.call("POST", "/auth/register", body={"email": "ada@example.com", "password": PASSWORD})

    assert calls == ["TransactWriteItems"]


def test_login_success_is_one_read_the_counted_attempt_and_the_session(api, signed_in, calls, kms_calls):
    """The attempt is counted before bcrypt runs (a write that must precede the check), the session written after
    it: a third round trip, which the throttle's atomicity costs (CONTRACT.md "Login throttling")."""
    signed_in()
    calls.clear()
    kms_calls.clear()

    assert api.call("POST", "/auth/login", body={"email": "ada@example.com", "password": PASSWORD}).status == 200

    assert calls == ["BatchGetItem", "UpdateItem", "TransactWriteItems"]
    assert kms_calls == ["Sign"]


def test_first_login_of_a_deployment_registers_the_signing_key_once(api, aws, calls, kms_calls):
    api.call("POST", "/auth/register", body={"email": "ada@example.com", "password": PASSWORD})
    calls.clear()

    assert api.call("POST", "/auth/login", body={"email": "ada@example.com", "password": PASSWORD}).status == 200

    assert calls == ["BatchGetItem", "UpdateItem", "PutItem", "TransactWriteItems"]  # PutItem: the registry
    assert kms_calls == ["GetPublicKey", "Sign"]


def test_login_failure_is_one_read_and_one_write(api, signed_in, calls):
    signed_in()
    calls.clear()

    api.call("POST", "/auth/login", body={"email": "ada@example.com", "password": "wrong password 123"})

    assert calls == ["BatchGetItem", "UpdateItem"]


def test_refresh_is_one_read_one_transaction_and_one_signature(api, signed_in, calls, kms_calls):
    session = signed_in()
    calls.clear()
    kms_calls.clear()

    assert api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]}).status == 200

    assert calls == ["BatchGetItem", "TransactWriteItems"]
    assert kms_calls == ["Sign"]


def test_me_is_authorizer_read_plus_one_get(api, signed_in, calls, kms_calls):
    session = signed_in()
    warm_public_keys()
    calls.clear()
    kms_calls.clear()

    assert api.call("GET", "/me", token=session["access_token"]).status == 200

    assert calls == ["BatchGetItem", "GetItem"]  # the authorizer's one read, then /me's one (by the verified email)
    assert kms_calls == []


def warm_public_keys() -> None:
    """A warm function holds the public keys (one GetItem of the registry per KEY_CACHE_SECONDS, on a cold start)."""
    from auth_core import container

    container.public_keys().key_set()


def test_logout_is_one_transaction(api, signed_in, calls):
    session = signed_in()
    warm_public_keys()
    calls.clear()

    api.call("POST", "/auth/logout", body={"refresh_token": session["refresh_token"]}, token=session["access_token"])

    assert calls == ["TransactWriteItems"]


def test_logout_after_the_signing_key_registry_changed_reads_it_once_more(api, signed_in, calls):
    """The registry a warm function holds is a condition of logout's transaction: after a write of the registry (a
    rotation, a retirement), the first logout with a bearer token reads it again and ends the session then."""
    from auth_core import container

    session = signed_in()
    warm_public_keys()
    registry = container.key_registry()
    read = registry.read()
    registry.replace(read, list(read.keys))
    calls.clear()

    api.call("POST", "/auth/logout", body={"refresh_token": session["refresh_token"]}, token=session["access_token"])

    assert calls == ["TransactWriteItems", "GetItem", "TransactWriteItems"]


def test_jwks_is_one_read_of_the_registry_per_request_and_discovery_none(api, signed_in, calls):
    signed_in()
    calls.clear()

    for path in ("/.well-known/jwks.json", "/.well-known/jwks.json", "/.well-known/openid-configuration"):
        assert api.call("GET", path).status == 200

    assert calls == ["GetItem", "GetItem"]


def test_logout_all_is_authorizer_read_plus_one_conditional_write(api, signed_in, calls):
    session = signed_in()
    warm_public_keys()
    calls.clear()

    assert api.call("POST", "/auth/logout-all", token=session["access_token"]).status == 204

    assert calls == ["BatchGetItem", "UpdateItem"]


def test_forgot_is_one_read_of_the_user_then_the_quota_and_the_link(api, signed_in, calls):
    signed_in()
    calls.clear()

    assert api.call("POST", "/auth/password/forgot", body={"email": "ada@example.com"}).status == 202

    assert calls == ["GetItem", "GetItem", "UpdateItem", "PutItem"]


def test_forgot_unknown_email_is_one_read(api, calls):
    assert api.call("POST", "/auth/password/forgot", body={"email": "nobody@example.com"}).status == 202

    assert calls == ["GetItem"]


def test_change_password_is_authorizer_read_login_read_count_write_uncount(api, signed_in, calls):
    session = signed_in()
    warm_public_keys()
    calls.clear()

    body = {"current_password": PASSWORD, "new_password": "a brand new Passphrase 9"}
    assert api.call("POST", "/me/password", body=body, token=session["access_token"]).status == 204

    assert calls == ["BatchGetItem", "BatchGetItem", "UpdateItem", "UpdateItem", "UpdateItem"]


def test_sessions_is_authorizer_read_user_read_one_query(api, signed_in, calls):
    session = signed_in()
    warm_public_keys()
    calls.clear()

    assert api.call("GET", "/me/sessions", token=session["access_token"]).status == 200

    assert calls == ["BatchGetItem", "GetItem", "Query"]

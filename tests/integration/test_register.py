"""POST /auth/register."""

from __future__ import annotations

import json

import pytest

from tests.conftest import PASSWORD, TEST_ENV
from tests.lambda_events import LambdaContext, handler_of, load_event


def stored_user(aws, email: str) -> dict | None:
    item = aws["dynamodb"].get_item(TableName=TEST_ENV["USERS_TABLE_NAME"], Key={"email": {"S": email}}).get("Item")
    return item


def test_register_sample_event_creates_user(aws):
    # The sample event a `sam local invoke` user sends, unchanged.
    result = handler_of("register")(load_event("register"), LambdaContext())

    assert result["statusCode"] == 201
    user = json.loads(result["body"])["user"]
    assert set(user) == {"id", "email", "role", "status", "created_at"}
    assert (user["email"], user["role"], user["status"]) == ("ada@example.com", "user", "active")


def test_register_mixed_case_email_stores_normalized_email_and_bcrypt_hash(api, aws):
    reply = api.call("POST", "/auth/register", body={"email": "  Ada@Example.COM ", "password": PASSWORD})

    assert reply.status == 201
    assert reply.body["user"]["email"] == "ada@example.com"
    item = stored_user(aws, "ada@example.com")
    assert item["password_hash"]["S"].startswith("$2b$04$")  # the test cost; production refuses below 12
    assert PASSWORD not in json.dumps(item)
    assert "password" not in reply.raw_body and "$2b$" not in reply.raw_body


def test_register_same_email_twice_answers_409_email_taken(api):
    assert api.call("POST", "/auth/register", body={"email": "ada@example.com", "password": PASSWORD}).status == 201

    reply = api.call("POST", "/auth/register", body={"email": "ADA@example.com", "password": PASSWORD + "!"})

    assert reply.status == 409
    assert reply.body == {"error": "email_taken", "message": "An account with this email already exists."}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "ada@example.com", "password": "Sh0rt!"}, "password"),
        ({"email": "ada@example.com", "password": "alllowercaseletters"}, "password"),
        ({"email": "ada@example.com", "password": "Password2024!"}, "password"),
        ({"email": "ada@example.com", "password": "qwertyuiopasdfghjkl"}, "password"),
        ({"email": "lovelace@example.com", "password": "Lovelace-Analytical-1"}, "password"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "ada@", "password": PASSWORD}, "email"),
        ({"email": "a" * 250 + "@example.com", "password": PASSWORD}, "email"),
        ({"email": "ada@example.com"}, "password"),
        ({"password": PASSWORD}, "email"),
        ({"email": "ada@example.com", "password": PASSWORD, "role": "admin"}, "role"),
        ({"email": 42, "password": PASSWORD}, "email"),
        ({"email": "ada@example.com", "password": "x" * 2000}, "password"),
    ],
)
def test_register_invalid_body_answers_400_with_field_details(api, aws, body, field):
    reply = api.call("POST", "/auth/register", body=body)

    assert reply.status == 400
    assert reply.body["error"] == "validation_error"
    assert field in {detail["field"] for detail in reply.body["details"]}
    assert aws["dynamodb"].scan(TableName=TEST_ENV["USERS_TABLE_NAME"])["Count"] == 0
    if "password" in body:  # the refused password is never echoed back
        assert str(body["password"]) not in reply.raw_body


@pytest.mark.parametrize("raw", ["{not json", "[]", '"a string"', "null", ""])
def test_register_malformed_json_answers_400_validation_error(api, raw):
    reply = api.call("POST", "/auth/register", raw_body=raw)

    assert reply.status == 400
    assert reply.body["error"] == "validation_error"
    assert "details" in reply.body


def test_register_oversized_body_answers_400_without_parsing(api, aws):
    body = json.dumps({"email": "ada@example.com", "password": PASSWORD, "pad": "x" * 20_000})

    reply = api.call("POST", "/auth/register", raw_body=body)

    assert reply.status == 400
    assert reply.body["error"] == "validation_error"
    assert stored_user(aws, "ada@example.com") is None


def test_register_long_passphrase_is_accepted_and_counts_in_full(api):
    passphrase = "the quick brown fox jumps over the lazy dog " * 2  # 88 characters, past bcrypt's 72 bytes

    assert api.call("POST", "/auth/register", body={"email": "ada@example.com", "password": passphrase}).status == 201

    truncated = api.call("POST", "/auth/login", body={"email": "ada@example.com", "password": passphrase[:72]})
    assert truncated.status == 401
    full = api.call("POST", "/auth/login", body={"email": "ada@example.com", "password": passphrase})
    assert full.status == 200


def test_register_response_carries_security_headers_and_no_cookie(api):
    reply = api.call("POST", "/auth/register", body={"email": "ada@example.com", "password": PASSWORD})

    assert reply.header("X-Content-Type-Options") == "nosniff"
    assert reply.header("Cache-Control") == "no-store"
    assert reply.header("Strict-Transport-Security").startswith("max-age=")
    assert reply.cookies == []

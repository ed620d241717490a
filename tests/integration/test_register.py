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
    assert set(user) == {"id", "email", "role", "status", "created_at", "email_verified"}
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


# A compatibility form of a common password (fullwidth, mathematical letters, superscript digits) is hashed as its
# NFKC form, so it must be judged as that form: otherwise the account it creates opens with the plain common password.
COMPATIBILITY_FORMS = {
    "fullwidth": "\uff30\uff41\uff53\uff53\uff57\uff4f\uff52\uff44\uff11\uff12\uff13\uff14",  # Password1234
    "double-struck": "\u2119\U0001d552\U0001d564\U0001d564\U0001d568\U0001d560\U0001d563\U0001d555\U0001d7d9\U0001d7da\U0001d7db\U0001d7dc",  # Password1234 in double-struck letters and digits
    "superscript-digits": "Password\u00b9\u00b2\u00b3\u2074",  # superscript 1234
}


@pytest.mark.parametrize("password", COMPATIBILITY_FORMS.values(), ids=COMPATIBILITY_FORMS.keys())
def test_register_compatibility_form_of_common_password_answers_400_and_plain_form_opens_nothing(api, aws, password):
    # When someone registers with a decorated form of "Password1234"
    reply = api.call("POST", "/auth/register", body={"email": "ada@example.com", "password": password})

    # Then it is refused as common, nothing is stored, and the plain form opens no account
    assert reply.status == 400
    assert reply.body["error"] == "validation_error"
    assert {"field": "password", "message": "password is too common"} in reply.body["details"]
    assert stored_user(aws, "ada@example.com") is None
    login = api.call("POST", "/auth/login", body={"email": "ada@example.com", "password": "Password1234"})
    assert login.status == 401


def test_register_password_long_enough_only_once_normalized_is_accepted_and_opens_with_either_form(api):
    # 9 characters as typed (the ffi and fl ligatures), 12 once normalized: the policy judges what is hashed.
    typed, normalized = "Xq7#\ufb03Kw9\ufb02", "Xq7#ffiKw9fl"

    reply = api.call("POST", "/auth/register", body={"email": "ada@example.com", "password": typed})

    assert reply.status == 201, reply.body
    for password in (typed, normalized):
        assert api.call("POST", "/auth/login", body={"email": "ada@example.com", "password": password}).status == 200


def test_register_password_too_short_once_normalized_answers_400(api, aws):
    typed = "Zoe\u0308#Bru\u0302le\u030142"  # 14 code points with combining accents, 11 once composed

    reply = api.call("POST", "/auth/register", body={"email": "ada@example.com", "password": typed})

    assert reply.status == 400
    assert {"field": "password", "message": "password must be at least 12 characters long"} in reply.body["details"]
    assert stored_user(aws, "ada@example.com") is None


def test_register_password_with_fullwidth_email_name_answers_400(api, aws):
    password = (
        "\uff21\uff24\uff21\uff0e\uff2c\uff2f\uff36\uff25\uff2c\uff21\uff23\uff25#2024"  # ADA.LOVELACE, fullwidth
    )

    reply = api.call("POST", "/auth/register", body={"email": "ada.lovelace@example.com", "password": password})

    assert reply.status == 400
    assert {"field": "password", "message": "password must not contain your email address"} in reply.body["details"]
    assert stored_user(aws, "ada.lovelace@example.com") is None

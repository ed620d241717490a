"""`make admin`: the first admin of a deployed stack, found through the stack's outputs.

Creating never touches an account that exists: an email someone registered first (or while the operator typed the
password) may belong to an attacker, so it is refused. Promoting an existing account takes `--promote` and a
confirmation naming the account's id.
"""

from __future__ import annotations

import pytest

from infra import create_admin
from tests.conftest import PASSWORD, TEST_ENV

STACK = ["--stack", "serverless-jwt-auth-dev"]
OPS = "ops@example.com"
ATTACKER_PASSWORD = "Attacker's own pass phrase 9"


@pytest.fixture(autouse=True)
def admin_password(monkeypatch):
    monkeypatch.setenv("ADMIN_PASSWORD", PASSWORD)


@pytest.fixture
def no_terminal(operator_types):
    operator_types("yes", on_terminal=False)


def stored_role(aws, email: str) -> str:
    item = aws["dynamodb"].get_item(TableName=TEST_ENV["USERS_TABLE_NAME"], Key={"email": {"S": email}})["Item"]
    return item["role"]["S"]


def admin_list_status(api, session) -> int:
    """What the session's next access token (after a refresh) gets on an admin route."""
    refreshed = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})
    assert refreshed.status == 200, refreshed.body
    return api.call("GET", "/admin/users", token=refreshed.body["access_token"]).status


# ---------------------------------------------------------------------------------------------------------------
# Creating


def test_create_admin_new_email_creates_admin_who_can_use_admin_routes(api, stack, capsys):
    assert create_admin.main([*STACK, "--email", "Root@Example.com"]) == 0

    assert "Created admin root@example.com" in capsys.readouterr().out
    login = api.call("POST", "/auth/login", body={"email": "root@example.com", "password": PASSWORD}).body
    assert api.call("GET", "/admin/users", token=login["access_token"]).status == 200


def test_create_admin_email_registered_first_by_someone_else_refuses_and_never_promotes(
    api, aws, stack, signed_in, capsys
):
    # Given an attacker who registered the operator's address first, with a password of their own
    attacker = signed_in(OPS, password=ATTACKER_PASSWORD)

    # When the operator runs `make admin EMAIL=ops@example.com`
    status = create_admin.main([*STACK, "--email", OPS])

    # Then nothing is promoted, and the operator is told why and what to do
    assert status == 1
    err = capsys.readouterr().err
    assert f"{OPS} is already registered" in err
    assert "--promote" in err
    assert stored_role(aws, OPS) == "user"
    assert admin_list_status(api, attacker) == 403


def test_create_admin_losing_race_to_registration_refuses_and_never_promotes(api, aws, stack, monkeypatch, capsys):
    # Given an attacker who registers the address while the operator types the password (after the existence check)
    monkeypatch.delenv("ADMIN_PASSWORD")
    prompts: list[str] = []

    def password_prompt(prompt: str = "") -> str:
        if not prompts:
            reply = api.call("POST", "/auth/register", body={"email": OPS, "password": ATTACKER_PASSWORD})
            assert reply.status == 201
        prompts.append(prompt)
        return PASSWORD

    monkeypatch.setattr(create_admin.getpass, "getpass", password_prompt)

    # When the operator's create loses the conditional write
    status = create_admin.main([*STACK, "--email", OPS])

    # Then the attacker's account stays a user, and the operator is told
    assert status == 1
    assert f"{OPS} is already registered" in capsys.readouterr().err
    assert stored_role(aws, OPS) == "user"
    login = api.call("POST", "/auth/login", body={"email": OPS, "password": ATTACKER_PASSWORD})
    assert api.call("GET", "/admin/users", token=login.body["access_token"]).status == 403


def test_create_admin_weak_password_exits_without_creating(api, stack, monkeypatch, aws, capsys):
    monkeypatch.setenv("ADMIN_PASSWORD", "password")

    assert create_admin.main([*STACK, "--email", "root@example.com"]) == 1

    assert "The password" in capsys.readouterr().err
    assert aws["dynamodb"].scan(TableName=TEST_ENV["USERS_TABLE_NAME"])["Count"] == 0


def test_create_admin_passwords_typed_differently_exits_without_creating(api, stack, monkeypatch, aws, capsys):
    monkeypatch.delenv("ADMIN_PASSWORD")
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr(create_admin.getpass, "getpass", lambda prompt="": next(answers))

    assert create_admin.main([*STACK, "--email", "root@example.com"]) == 1

    assert "The passwords differ" in capsys.readouterr().err
    assert aws["dynamodb"].scan(TableName=TEST_ENV["USERS_TABLE_NAME"])["Count"] == 0


# ---------------------------------------------------------------------------------------------------------------
# Promoting


def test_create_admin_promote_without_terminal_or_confirmation_refuses(api, aws, stack, signed_in, no_terminal, capsys):
    bob = signed_in("bob@example.com")

    status = create_admin.main([*STACK, "--email", "bob@example.com", "--promote"])

    assert status == 1
    assert "--yes-promote-user-id" in capsys.readouterr().err
    assert stored_role(aws, "bob@example.com") == "user"
    assert admin_list_status(api, bob) == 403


def test_create_admin_promote_confirmed_with_account_id_shows_account_and_promotes(
    api, aws, stack, signed_in, operator_types, capsys
):
    # Given bob's account and a session of his
    bob = signed_in("bob@example.com")
    created_at = api.call("GET", "/me", token=bob["access_token"]).body["user"]["created_at"]
    operator_types(bob["user_id"])

    # When the operator promotes it, typing the account id shown
    status = create_admin.main([*STACK, "--email", "bob@example.com", "--promote"])

    # Then the prompt showed which account this is, and bob's session's next token opens the admin routes
    assert status == 0
    out = capsys.readouterr().out
    assert bob["user_id"] in out
    assert created_at in out
    assert "role user, status active" in out
    assert "promoted to admin" in out
    assert stored_role(aws, "bob@example.com") == "admin"
    assert admin_list_status(api, bob) == 200


def test_create_admin_promote_with_matching_yes_id_promotes_without_prompt(api, aws, stack, signed_in, no_terminal):
    bob = signed_in("bob@example.com")

    status = create_admin.main(
        [*STACK, "--email", "bob@example.com", "--promote", f"--yes-promote-user-id={bob['user_id']}"]
    )

    assert status == 0
    assert admin_list_status(api, bob) == 200


@pytest.mark.parametrize("how", ["typed", "option"])
def test_create_admin_promote_with_wrong_id_refuses(api, aws, stack, signed_in, operator_types, capsys, how):
    bob = signed_in("bob@example.com")
    mallory = signed_in("mallory@example.com")
    # `=`: a random id starts with "-" one time in 64, and argparse would take it for an option (the Makefile does too).
    options = [f"--yes-promote-user-id={mallory['user_id']}"] if how == "option" else []
    operator_types(mallory["user_id"] if how == "typed" else "")

    status = create_admin.main([*STACK, "--email", "bob@example.com", "--promote", *options])

    assert status == 1
    assert "not promoted" in capsys.readouterr().err
    assert stored_role(aws, "bob@example.com") == "user"
    assert stored_role(aws, "mallory@example.com") == "user"
    assert admin_list_status(api, bob) == 403


def test_create_admin_promote_unknown_email_refuses_without_creating(api, aws, stack, operator_types, capsys):
    operator_types("yes")

    status = create_admin.main([*STACK, "--email", "nobody@example.com", "--promote"])

    assert status == 1
    assert "no account" in capsys.readouterr().err
    assert aws["dynamodb"].scan(TableName=TEST_ENV["USERS_TABLE_NAME"])["Count"] == 0


def test_create_admin_yes_id_without_promote_is_a_usage_error(api, aws, stack, signed_in):
    bob = signed_in("bob@example.com")

    with pytest.raises(SystemExit) as exited:
        create_admin.main([*STACK, "--email", "bob@example.com", f"--yes-promote-user-id={bob['user_id']}"])

    assert exited.value.code == 2
    assert stored_role(aws, "bob@example.com") == "user"

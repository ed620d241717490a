"""`make admin`: the first admin of a deployed stack, found through the stack's outputs."""

from __future__ import annotations

import pytest

from infra import create_admin
from tests.conftest import PASSWORD, TEST_ENV


@pytest.fixture
def stack(aws, monkeypatch):
    """What `describe_stacks` answers for a deployed stack (moto can't deploy our template)."""
    outputs = {
        "UsersTableName": TEST_ENV["USERS_TABLE_NAME"],
        "TokensTableName": TEST_ENV["TOKENS_TABLE_NAME"],
        "SigningKeySecretArn": TEST_ENV["SIGNING_KEY_SECRET_ARN"],
    }

    class CloudFormation:
        def describe_stacks(self, StackName):  # noqa: N803 - boto3's keyword
            assert StackName == "serverless-jwt-auth-dev"
            return {
                "Stacks": [
                    {
                        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                        "Parameters": [{"ParameterKey": "BcryptCost", "ParameterValue": "4"}],
                    }
                ]
            }

    real_client = create_admin.boto3.client
    monkeypatch.setattr(
        create_admin.boto3,
        "client",
        lambda name, **kw: CloudFormation() if name == "cloudformation" else real_client(name, **kw),
    )
    monkeypatch.setenv("ADMIN_PASSWORD", PASSWORD)


def test_create_admin_new_email_creates_admin_who_can_use_admin_routes(api, stack, capsys):
    assert create_admin.main(["--stack", "serverless-jwt-auth-dev", "--email", "Root@Example.com"]) == 0

    assert "Created admin root@example.com" in capsys.readouterr().out
    login = api.call("POST", "/auth/login", body={"email": "root@example.com", "password": PASSWORD}).body
    assert api.call("GET", "/admin/users", token=login["access_token"]).status == 200


def test_create_admin_existing_email_promotes_it(api, stack, signed_in, capsys):
    session = signed_in("bob@example.com")

    create_admin.main(["--stack", "serverless-jwt-auth-dev", "--email", "bob@example.com"])

    assert "promoted to admin" in capsys.readouterr().out
    assert api.call("GET", "/admin/users", token=session["access_token"]).status == 200


def test_create_admin_weak_password_exits_without_creating(api, stack, monkeypatch, aws):
    monkeypatch.setenv("ADMIN_PASSWORD", "password")

    with pytest.raises(SystemExit, match="password"):
        create_admin.main(["--stack", "serverless-jwt-auth-dev", "--email", "root@example.com"])

    assert aws["dynamodb"].scan(TableName=TEST_ENV["USERS_TABLE_NAME"])["Count"] == 0

"""infra/cfn.py: reading the template, and building its tables and signing secret in moto."""

import json
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from infra import cfn

REGION = "us-east-1"
TABLE_NAMES = {"UsersTable": "users", "TokensTable": "tokens"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn.load_template()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def dynamodb(aws: None) -> Any:
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def secretsmanager(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


# ---------------------------------------------------------------------------------------------------------------
# load_template


def test_load_template_with_short_tags_returns_long_forms(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        """
        A: !Ref Stage
        B: !GetAtt Table.Arn
        C: !GetAtt [Table, StreamArn]
        D: !Sub "${Table.Arn}/index/*"
        E: !Sub ["x-${Name}", {Name: !Ref Stage}]
        F: !If [IsProd, !Join ["", [a, b]], !Ref AWS::NoValue]
        G: !Equals [!Select [0, !Split [",", "a,b"]], a]
        H: !Not [!And [!Condition C1, !Or [!Condition C2, !Condition C3]]]
        I: !FindInMap [Map, Key, Value]
        J: !Base64 text
        K: !ImportValue Exported
        L: !GetAZs ""
        """,
        encoding="utf-8",
    )

    loaded = cfn.load_template(path)

    assert loaded == {
        "A": {"Ref": "Stage"},
        "B": {"Fn::GetAtt": ["Table", "Arn"]},
        "C": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "D": {"Fn::Sub": "${Table.Arn}/index/*"},
        "E": {"Fn::Sub": ["x-${Name}", {"Name": {"Ref": "Stage"}}]},
        "F": {"Fn::If": ["IsProd", {"Fn::Join": ["", ["a", "b"]]}, {"Ref": "AWS::NoValue"}]},
        "G": {"Fn::Equals": [{"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}, "a"]},
        "H": {"Fn::Not": [{"Fn::And": [{"Condition": "C1"}, {"Fn::Or": [{"Condition": "C2"}, {"Condition": "C3"}]}]}]},
        "I": {"Fn::FindInMap": ["Map", "Key", "Value"]},
        "J": {"Fn::Base64": "text"},
        "K": {"Fn::ImportValue": "Exported"},
        "L": {"Fn::GetAZs": ""},
    }


def test_load_template_with_short_tags_leaves_plain_safe_loader_untouched() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="!Ref"):
        yaml.safe_load("A: !Ref Stage")


@pytest.mark.parametrize(
    ("expression", "text"),
    [
        ("'nosniff'", "nosniff"),
        ("'Bearer realm=\"x\"'", 'Bearer realm="x"'),
        ("'default-src \\'none\\''", "default-src 'none'"),
    ],
)
def test_gateway_static_value_with_quoted_text_returns_the_text(expression: str, text: str) -> None:
    assert cfn.gateway_static_value(expression) == text


@pytest.mark.parametrize("expression", ["nosniff", "method.request.header.Origin", "'", ""])
def test_gateway_static_value_with_non_static_expression_raises_value_error(expression: str) -> None:
    with pytest.raises(ValueError, match="static"):
        cfn.gateway_static_value(expression)


# ---------------------------------------------------------------------------------------------------------------
# Tables


def test_create_tables_with_template_creates_its_keys_and_index(dynamodb: Any, template: dict[str, Any]) -> None:
    cfn.create_tables(dynamodb, template, TABLE_NAMES)

    users = dynamodb.describe_table(TableName="users")["Table"]
    tokens = dynamodb.describe_table(TableName="tokens")["Table"]
    assert users["KeySchema"] == [{"AttributeName": "email", "KeyType": "HASH"}]
    assert users["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    (index,) = users["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "user_id-index"
    assert index["KeySchema"] == [{"AttributeName": "user_id", "KeyType": "HASH"}]
    assert index["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["role", "status", "created_at", "tokens_valid_after"],
    }
    assert tokens["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    (sessions_index,) = tokens["GlobalSecondaryIndexes"]
    assert sessions_index["IndexName"] == "user_id-created_at-index"


@pytest.mark.parametrize("table_name", sorted(TABLE_NAMES.values()))
def test_create_tables_with_template_enables_ttl_on_expires_at(
    dynamodb: Any, template: dict[str, Any], table_name: str
) -> None:
    cfn.create_tables(dynamodb, template, TABLE_NAMES)

    ttl = dynamodb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_create_tables_with_a_name_missing_raises_key_error_and_creates_nothing(
    dynamodb: Any, template: dict[str, Any]
) -> None:
    with pytest.raises(KeyError, match="TokensTable"):
        cfn.create_tables(dynamodb, template, {"UsersTable": "users"})

    assert dynamodb.list_tables()["TableNames"] == []


def test_table_definitions_with_template_translate_sse_to_the_api_shape(template: dict[str, Any]) -> None:
    definitions = cfn.table_definitions(template)

    assert set(definitions) == set(TABLE_NAMES)
    assert all(kwargs["SSESpecification"] == {"Enabled": True} for kwargs in definitions.values())


def test_ttl_attribute_without_ttl_returns_none() -> None:
    template = {"Resources": {"T": {"Type": "AWS::DynamoDB::Table", "Properties": {}}}}

    assert cfn.ttl_attribute(template, "T") is None


# ---------------------------------------------------------------------------------------------------------------
# Signing secret


def test_create_signing_secret_with_template_stores_kid_alg_and_64_char_key(
    secretsmanager: Any, template: dict[str, Any]
) -> None:
    arn = cfn.create_signing_secret(secretsmanager, template, "signing-key")

    secret = json.loads(secretsmanager.get_secret_value(SecretId=arn)["SecretString"])
    assert arn.startswith("arn:aws:secretsmanager:")
    assert secret["kid"] == "k1"
    assert secret["alg"] == "HS256"
    assert len(secret["key"]) == 64
    assert set(secret["key"]) <= set(string.ascii_letters + string.digits)


def test_create_signing_secret_twice_generates_different_keys(secretsmanager: Any, template: dict[str, Any]) -> None:
    first = cfn.create_signing_secret(secretsmanager, template, "first")
    second = cfn.create_signing_secret(secretsmanager, template, "second")

    keys = [json.loads(secretsmanager.get_secret_value(SecretId=arn)["SecretString"])["key"] for arn in (first, second)]
    assert keys[0] != keys[1]


def test_generate_secret_string_with_exclusions_uses_only_allowed_characters() -> None:
    spec = {"PasswordLength": 200, "ExcludeUppercase": True, "ExcludeCharacters": "abc", "ExcludePunctuation": True}

    password = cfn.generate_secret_string(spec)

    assert len(password) == 200
    assert set(password) <= set(string.ascii_lowercase + string.digits) - set("abc")
    assert any(char.isdigit() for char in password)
    assert any(char.islower() for char in password)

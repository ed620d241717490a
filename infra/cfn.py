"""Read template.yaml and build its data resources outside CloudFormation.

The template is the one definition of the tables, the signing secret and the signing key: the tests and the local API
create them from it (moto's CloudFormation cannot create this stack), so there is no second copy of the schema to
drift.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

DEFAULT_TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "template.yaml"

# Short-form intrinsic tags and the long-form key each becomes ("Ref" and "Condition" are not "Fn::" functions).
_FN_TAGS = (
    "Sub",
    "GetAtt",
    "If",
    "Equals",
    "Join",
    "Select",
    "Split",
    "Not",
    "And",
    "Or",
    "FindInMap",
    "Base64",
    "ImportValue",
    "GetAZs",
)
_INTRINSIC_TAGS = {"Ref": "Ref", "Condition": "Condition"} | {name: f"Fn::{name}" for name in _FN_TAGS}


class CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that reads CloudFormation's short tags (`!Ref X`) as their long form (`{"Ref": "X"}`)."""


def _intrinsic_constructor(key: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.MappingNode):
            value = loader.construct_mapping(node, deep=True)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        elif isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if key == "Fn::GetAtt":
                value = value.split(".", 1)  # "Resource.Attribute" -> ["Resource", "Attribute"]
        else:
            raise yaml.constructor.ConstructorError(None, None, f"!{key} on a {type(node).__name__}", node.start_mark)
        return {key: value}

    return construct


for _tag, _key in _INTRINSIC_TAGS.items():
    CloudFormationLoader.add_constructor(f"!{_tag}", _intrinsic_constructor(_key))


def load_template(path: Path = DEFAULT_TEMPLATE_PATH) -> dict[str, Any]:
    """Parse a CloudFormation/SAM template, short intrinsic tags included."""
    with path.open(encoding="utf-8") as stream:
        loader = CloudFormationLoader(stream)
        try:
            template: dict[str, Any] = loader.get_single_data()
        finally:
            loader.dispose()
    return template


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for every resource of one type (e.g. "AWS::Serverless::Function")."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def gateway_static_value(expression: str) -> str:
    """The text of a static API Gateway mapping value: `'max-age=1'` -> `max-age=1`, with `\\'` read as `'`."""
    match = re.fullmatch(r"'(.*)'", expression, flags=re.DOTALL)
    if match is None:
        msg = f"not a static mapping value (static text is wrapped in single quotes): {expression!r}"
        raise ValueError(msg)
    return match.group(1).replace("\\'", "'")


# ---------------------------------------------------------------------------------------------------------------
# DynamoDB


def table_definitions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id -> keyword arguments for DynamoDB `create_table` (all but TableName), per table in the template.

    CloudFormation-only properties (TTL, point-in-time recovery, deletion policies) are left out; see
    `ttl_attribute` and `create_tables`.
    """
    definitions: dict[str, dict[str, Any]] = {}
    for logical_id, resource in resources_of_type(template, "AWS::DynamoDB::Table").items():
        properties = resource["Properties"]
        kwargs: dict[str, Any] = {
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "KeySchema": properties["KeySchema"],
            "BillingMode": properties.get("BillingMode", "PROVISIONED"),
        }
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"):
            if key in properties:
                kwargs[key] = properties[key]
        sse = properties.get("SSESpecification")
        if sse:
            # CloudFormation says SSEEnabled where the API says Enabled.
            kwargs["SSESpecification"] = {"Enabled": sse["SSEEnabled"]} | {
                key: sse[key] for key in ("SSEType", "KMSMasterKeyId") if key in sse
            }
        definitions[logical_id] = kwargs
    return definitions


def ttl_attribute(template: dict[str, Any], logical_id: str) -> str | None:
    """The table's TTL attribute name, or None when the template enables no TTL on it."""
    ttl = template["Resources"][logical_id]["Properties"].get("TimeToLiveSpecification") or {}
    return ttl["AttributeName"] if ttl.get("Enabled") else None


def create_tables(dynamodb_client: DynamoDBClient, template: dict[str, Any], names: dict[str, str]) -> None:
    """Create every table of the template under `names[logical_id]`, and enable its TTL.

    Raises KeyError, before creating anything, when `names` misses a table: a table the code expects but nobody
    created would fail later and obscurely.
    """
    definitions = table_definitions(template)
    missing = sorted(set(definitions) - set(names))
    if missing:
        raise KeyError(f"no table name given for {', '.join(missing)}")
    for logical_id, kwargs in definitions.items():
        table_name = names[logical_id]
        dynamodb_client.create_table(TableName=table_name, **kwargs)
        dynamodb_client.get_waiter("table_exists").wait(TableName=table_name)
        attribute = ttl_attribute(template, logical_id)
        if attribute:
            dynamodb_client.update_time_to_live(
                TableName=table_name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
            )


# ---------------------------------------------------------------------------------------------------------------
# Secrets Manager


def password_alphabet(spec: dict[str, Any]) -> list[str]:
    """The character classes GenerateSecretString draws from (Secrets Manager's defaults), exclusions applied."""
    classes = [
        ("ExcludeLowercase", string.ascii_lowercase),
        ("ExcludeUppercase", string.ascii_uppercase),
        ("ExcludeNumbers", string.digits),
        ("ExcludePunctuation", string.punctuation),
    ]
    excluded = set(spec.get("ExcludeCharacters", ""))
    alphabet = [
        "".join(char for char in chars if char not in excluded) for flag, chars in classes if not spec.get(flag, False)
    ]
    if spec.get("IncludeSpace", False):
        alphabet.append(" ")
    return [chars for chars in alphabet if chars]


def generate_secret_string(spec: dict[str, Any]) -> str:
    """What Secrets Manager stores for a GenerateSecretString spec: the template JSON plus the generated key."""
    classes = password_alphabet(spec)
    length = int(spec.get("PasswordLength", 32))
    require_each = spec.get("RequireEachIncludedType", True) and length >= len(classes)
    alphabet = "".join(classes)
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if not require_each or all(any(char in chars for char in password) for chars in classes):
            break
    if "GenerateStringKey" not in spec:
        return password
    document = json.loads(spec["SecretStringTemplate"])
    document[spec["GenerateStringKey"]] = password
    return json.dumps(document)


def create_signing_secret(
    secretsmanager_client: SecretsManagerClient,
    template: dict[str, Any],
    name: str,
    *,
    logical_id: str = "SigningKeySecret",
) -> str:
    """Create the template's signing-key secret under `name`, generated as Secrets Manager would; return its ARN."""
    properties = template["Resources"][logical_id]["Properties"]
    response = secretsmanager_client.create_secret(
        Name=name,
        Description=properties.get("Description", ""),
        SecretString=generate_secret_string(properties["GenerateSecretString"]),
    )
    return response["ARN"]


# ---------------------------------------------------------------------------------------------------------------
# KMS


def create_signing_kms_key(kms_client: Any, template: dict[str, Any], *, logical_id: str = "SigningKmsKey") -> str:
    """Create the template's access-token signing key (its key spec, usage and description) in KMS; return its ARN.
    Its key policy names the stack's IAM roles, which exist only in a deployed stack: it is left out here."""
    from infra.moto_kms import honour_digest_message_type

    honour_digest_message_type()  # a no-op outside moto's process; moto signs digests as AWS does
    properties = template["Resources"][logical_id]["Properties"]
    response = kms_client.create_key(
        Description=properties.get("Description", ""), KeySpec=properties["KeySpec"], KeyUsage=properties["KeyUsage"]
    )
    return str(response["KeyMetadata"]["Arn"])

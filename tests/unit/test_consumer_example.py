"""examples/consumer-api: another team's API trusts exactly our issuer and audience, with ES256 pinned, on every
route; and its cfn-lint schema override adds the JWT authorizer's properties without loosening anything else."""

import json
from pathlib import Path
from typing import Any

import cfnlint

from infra import cfn

EXAMPLE = cfn.DEFAULT_TEMPLATE_PATH.parent / "examples" / "consumer-api"
TEMPLATE = cfn.load_template(EXAMPLE / "template.yaml")
RESOURCES = TEMPLATE["Resources"]
ISSUER = {"Ref": "IssuerUrl"}
AUDIENCES = [{"Ref": "Audience"}]
SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"


def test_parameters_are_the_issuer_url_and_the_audience() -> None:
    assert set(TEMPLATE["Parameters"]) == {"IssuerUrl", "Audience"}
    assert TEMPLATE["Parameters"]["IssuerUrl"]["AllowedPattern"].startswith("^https://")  # API Gateway needs https


def test_rest_authorizer_trusts_only_our_issuer_and_audience_with_es256() -> None:
    [authorizer] = cfn.resources_of_type(TEMPLATE, "AWS::ApiGateway::Authorizer").values()
    properties = authorizer["Properties"]
    assert properties["Type"] == "JWT"
    assert properties["IdentitySource"] == "method.request.header.Authorization"
    assert properties["JwtConfiguration"] == {
        "DefaultAlgorithms": ["ES256"],
        "Issuers": [{"Issuer": ISSUER, "Audiences": AUDIENCES}],
    }


def test_every_rest_method_uses_the_jwt_authorizer() -> None:
    methods = cfn.resources_of_type(TEMPLATE, "AWS::ApiGateway::Method").values()
    assert methods
    for method in methods:
        assert method["Properties"]["AuthorizationType"] == "JWT"
        assert method["Properties"]["AuthorizerId"] == {"Ref": "RestJwtAuthorizer"}


def test_http_api_trusts_only_our_issuer_and_audience_on_every_route() -> None:
    auth = RESOURCES["HttpApi"]["Properties"]["Auth"]
    assert auth["Authorizers"] == {
        "ServerlessJwtAuth": {
            "IdentitySource": "$request.header.Authorization",
            "JwtConfiguration": {"issuer": ISSUER, "audience": AUDIENCES},
        }
    }
    assert auth["DefaultAuthorizer"] == "ServerlessJwtAuth"
    events = [
        event
        for function in cfn.resources_of_type(TEMPLATE, "AWS::Serverless::Function").values()
        for event in function["Properties"]["Events"].values()
    ]
    assert events
    for event in events:
        assert event["Type"] == "HttpApi"
        assert "Auth" not in event["Properties"]  # no route opts out of the default authorizer


def _bundled_authorizer_schema() -> dict[str, Any]:
    schema_hash = json.loads((SCHEMAS / "providers" / "us-east-1.json").read_text())["AWS::ApiGateway::Authorizer"]
    schema: dict[str, Any] = json.loads((SCHEMAS / "resources" / f"{schema_hash}.json").read_text())
    return schema


def test_cfn_lint_override_only_adds_jwt_configuration() -> None:
    bundled = _bundled_authorizer_schema()
    override = json.loads((EXAMPLE / "cfn-lint-schemas" / "aws-apigateway-authorizer.json").read_text())
    # When cfn-lint's own schema learns JwtConfiguration, this fails: drop the override and its Makefile flag then.
    assert "JwtConfiguration" not in bundled["properties"]
    added = override["properties"].pop("JwtConfiguration")
    assert added == {"$ref": "#/definitions/JwtConfiguration"}
    assert set(override.pop("definitions")) == {"JwtConfiguration", "JwtIssuer"}
    assert override == bundled

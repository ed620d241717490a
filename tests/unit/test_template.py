"""The SAM template's wiring: routes and authorizers, least-privilege IAM, data protection, gateway responses."""

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import pytest

from infra import cfn
from tests.contract import SECURITY_HEADERS

REPO_ROOT = cfn.DEFAULT_TEMPLATE_PATH.parent
TEMPLATE = cfn.load_template()
RESOURCES = TEMPLATE["Resources"]
GLOBALS = TEMPLATE["Globals"]["Function"]
FUNCTIONS = cfn.resources_of_type(TEMPLATE, "AWS::Serverless::Function")
TABLES = cfn.resources_of_type(TEMPLATE, "AWS::DynamoDB::Table")
API = RESOURCES["AuthApi"]["Properties"]
GATEWAY_RESPONSES = API["GatewayResponses"]

NONE = "NONE"  # `Auth: {Authorizer: NONE}`: a public route
DEFAULT = None  # no override: the API's default (Lambda) authorizer applies

# (method, path) -> (function, authorizer override), as CONTRACT.md lists the routes.
CONTRACT_ROUTES = {
    ("POST", "/auth/register"): ("RegisterFunction", NONE),
    ("OPTIONS", "/auth/register"): ("RegisterFunction", NONE),
    ("POST", "/auth/login"): ("LoginFunction", NONE),
    ("OPTIONS", "/auth/login"): ("LoginFunction", NONE),
    ("POST", "/auth/refresh"): ("RefreshFunction", NONE),
    ("OPTIONS", "/auth/refresh"): ("RefreshFunction", NONE),
    ("POST", "/auth/logout"): ("LogoutFunction", NONE),
    ("OPTIONS", "/auth/logout"): ("LogoutFunction", NONE),
    ("POST", "/auth/logout-all"): ("LogoutFunction", DEFAULT),
    ("OPTIONS", "/auth/logout-all"): ("LogoutFunction", NONE),
    ("GET", "/me"): ("MeFunction", DEFAULT),
    ("OPTIONS", "/me"): ("MeFunction", NONE),
    ("GET", "/me/sessions"): ("MeFunction", DEFAULT),
    ("OPTIONS", "/me/sessions"): ("MeFunction", NONE),
    ("DELETE", "/me/sessions/{session_id}"): ("MeFunction", DEFAULT),
    ("OPTIONS", "/me/sessions/{session_id}"): ("MeFunction", NONE),
    ("POST", "/me/password"): ("AccountFunction", DEFAULT),
    ("OPTIONS", "/me/password"): ("AccountFunction", NONE),
    **{
        (method, path): ("AccountFunction", NONE)
        for path in ("/auth/verify-email", "/auth/verify-email/resend", "/auth/password/forgot", "/auth/password/reset")
        for method in ("POST", "OPTIONS")
    },
    ("GET", "/admin/users"): ("AdminFunction", DEFAULT),
    ("OPTIONS", "/admin/users"): ("AdminFunction", NONE),
    ("GET", "/admin/users/{user_id}"): ("AdminFunction", DEFAULT),
    ("PATCH", "/admin/users/{user_id}"): ("AdminFunction", DEFAULT),
    ("OPTIONS", "/admin/users/{user_id}"): ("AdminFunction", NONE),
    ("GET", "/.well-known/jwks.json"): ("JwksFunction", NONE),
    ("GET", "/.well-known/openid-configuration"): ("JwksFunction", NONE),
}

# function -> {(action, resource)}: everything each function may do, and nothing more.
USERS, USERS_INDEX, TOKENS, SECRET = "UsersTable", "UsersTable/index/*", "TokensTable", "SigningKeySecret"
TOKENS_INDEX = "TokensTable/index/*"
# ses:SendEmail on the sender's identity only: the address, or its domain (README, "Sending mail").
SEND_MAIL = {("ses:SendEmail", "identity/${SenderEmail}"), ("ses:SendEmail", "identity/<domain of SenderEmail>")}
# The tokens table's signing-key registry item only (a dynamodb:LeadingKeys condition on the statement).
REGISTRY = "TokensTable[SIGNING_KEYS]"
EXPECTED_GRANTS = {
    "RegisterFunction": {("dynamodb:PutItem", USERS), ("dynamodb:PutItem", TOKENS), *SEND_MAIL},
    "AccountFunction": {
        *(("dynamodb:" + action, USERS) for action in ("GetItem", "UpdateItem", "BatchGetItem")),
        *(
            ("dynamodb:" + action, TOKENS)
            for action in ("GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem")
        ),
        *SEND_MAIL,
    },
    "LoginFunction": {
        ("dynamodb:BatchGetItem", USERS),
        ("dynamodb:ConditionCheckItem", USERS),
        *(("dynamodb:" + action, TOKENS) for action in ("BatchGetItem", "PutItem", "UpdateItem", "DeleteItem")),
        ("dynamodb:GetItem", REGISTRY),
        ("secretsmanager:GetSecretValue", SECRET),
    },
    "RefreshFunction": {
        ("dynamodb:BatchGetItem", USERS),
        ("dynamodb:ConditionCheckItem", USERS),
        *(("dynamodb:" + action, TOKENS) for action in ("BatchGetItem", "UpdateItem")),
        *(("dynamodb:" + action, REGISTRY) for action in ("GetItem", "PutItem")),
        ("secretsmanager:GetSecretValue", SECRET),
    },
    "LogoutFunction": {
        ("dynamodb:UpdateItem", USERS),
        *(("dynamodb:" + action, TOKENS) for action in ("PutItem", "UpdateItem")),
        # the bearer token's keys, and the condition that the registry still trusts them
        *(("dynamodb:" + action, REGISTRY) for action in ("GetItem", "ConditionCheckItem")),
        ("secretsmanager:GetSecretValue", SECRET),
    },
    "MeFunction": {
        ("dynamodb:GetItem", USERS),
        ("dynamodb:BatchGetItem", USERS),
        ("dynamodb:BatchGetItem", TOKENS),
        ("dynamodb:UpdateItem", TOKENS),
        ("dynamodb:Query", TOKENS_INDEX),
    },
    "AdminFunction": {
        ("dynamodb:Query", USERS_INDEX),
        ("dynamodb:Scan", USERS_INDEX),
        ("dynamodb:GetItem", USERS),
        ("dynamodb:BatchGetItem", USERS),
        ("dynamodb:UpdateItem", USERS),
        ("secretsmanager:GetSecretValue", SECRET),  # the listing's cursors are sealed with a key derived from it
    },
    # Verifiers only read DynamoDB: public keys, no secret, no KMS.
    "AuthorizerFunction": {
        *(("dynamodb:BatchGetItem", table) for table in (USERS, TOKENS)),
        ("dynamodb:GetItem", REGISTRY),
    },
    "JwksFunction": {("dynamodb:GetItem", REGISTRY)},
    # A new ES256 key (the KeySpec and KeyUsage conditions); what it may do with keys is in their key policies.
    "RotateSigningKeyFunction": {
        ("kms:CreateKey", "*[ECC_NIST_P256/SIGN_VERIFY]"),
        *(("dynamodb:" + action, REGISTRY) for action in ("GetItem", "PutItem")),
    },
    "RotateKeyFunction": {
        ("secretsmanager:" + action, SECRET)
        for action in ("DescribeSecret", "GetSecretValue", "PutSecretValue", "UpdateSecretVersionStage")
    },
}


# response type -> (status code, or None for API Gateway's own; the "error" code of the body)
EXPECTED_GATEWAY_RESPONSES = {
    "UNAUTHORIZED": (401, "missing_token"),
    "ACCESS_DENIED": (401, "$context.authorizer.error"),
    "AUTHORIZER_FAILURE": (503, "service_unavailable"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, "internal_error"),
    "MISSING_AUTHENTICATION_TOKEN": (404, "not_found"),
    "THROTTLED": (429, "rate_limited"),
    "REQUEST_TOO_LARGE": (400, "validation_error"),
    "DEFAULT_4XX": (None, "invalid_request"),
    "DEFAULT_5XX": (None, "internal_error"),
}


def _routes() -> dict[tuple[str, str], tuple[str, str | None]]:
    routes = {}
    for logical_id, function in FUNCTIONS.items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "Schedule":
                continue
            assert event["Type"] == "Api"
            properties = event["Properties"]
            assert properties["RestApiId"] == {"Ref": "AuthApi"}
            key = (properties["Method"].upper(), properties["Path"])
            assert key not in routes, f"route {key} declared twice"
            routes[key] = (logical_id, properties.get("Auth", {}).get("Authorizer"))
    return routes


def _resource_name(resource: Any) -> str:
    """`!GetAtt T.Arn` -> "T", `!Sub "${T.Arn}/index/*"` -> "T/index/*", `!Ref S` -> "S"; anything else fails."""
    ses_identity = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/"
    match resource:
        case {"Fn::Sub": str(text)} if text.startswith(ses_identity):
            return text.removeprefix(ses_identity.removesuffix("identity/"))
        case {"Fn::Sub": [str(text), {"Domain": {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": "SenderEmail"}]}]}}]}:
            assert text == ses_identity + "${Domain}"
            return "identity/<domain of SenderEmail>"
        case {"Fn::GetAtt": [logical_id, "Arn"]}:
            return str(logical_id)
        case {"Fn::Sub": str(text)} if text.startswith("${") and text.count("${") == 1:
            return text.replace("${", "").replace(".Arn}", "")
        case {"Ref": str(logical_id)} if logical_id in RESOURCES:
            return logical_id
        case "*":
            return "*"
    raise AssertionError(f"unexpected policy resource {resource!r}")


def _statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    policies = function["Properties"].get("Policies", [])
    assert isinstance(policies, list)
    statements = []
    for policy in policies:
        assert isinstance(policy, dict), f"only inline policy documents, not {policy!r}"
        assert set(policy) <= {"Version", "Statement"}, f"not an inline policy document: {policy!r}"
        statements.extend(policy["Statement"])
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants(function: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (action, _resource_name(resource) + _condition_name(statement.get("Condition")))
        for statement in _statements(function)
        for action in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
    }


def _condition_name(condition: Any) -> str:
    """The two conditions this template uses, spelled into the grant: the registry item only, an ES256 key only."""
    match condition:
        case None:
            return ""
        case {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["SIGNING_KEYS"]}}:
            return "[SIGNING_KEYS]"
        case {"StringEquals": {"kms:KeySpec": "ECC_NIST_P256", "kms:KeyUsage": "SIGN_VERIFY"}}:
            return "[ECC_NIST_P256/SIGN_VERIFY]"
    raise AssertionError(f"unexpected policy condition {condition!r}")


# ---------------------------------------------------------------------------------------------------------------
# Functions and routes


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_handler_file_for_each_function_exists_and_defines_handler(logical_id: str) -> None:
    properties = FUNCTIONS[logical_id]["Properties"]
    module, _, attribute = properties["Handler"].rpartition(".")
    source = REPO_ROOT / properties["CodeUri"] / f"{module.replace('.', '/')}.py"

    assert source.is_file(), f"{logical_id}: {source} does not exist"
    text = source.read_text(encoding="utf-8")
    assert f"def {attribute}(" in text or f"{attribute} =" in text


@pytest.mark.parametrize(("method", "path"), sorted(CONTRACT_ROUTES))
def test_route_lookup_for_each_contract_route_reaches_its_function_with_expected_auth(method: str, path: str) -> None:
    routes = _routes()

    assert (method, path) in routes, f"{method} {path} is not routed"
    assert routes[method, path] == CONTRACT_ROUTES[method, path]


def test_route_listing_compared_to_contract_has_no_extra_routes() -> None:
    assert set(_routes()) == set(CONTRACT_ROUTES)


def test_default_authorizer_when_route_has_no_override_is_uncached_lambda_token_authorizer() -> None:
    auth = API["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]

    assert authorizer["FunctionPayloadType"] == "TOKEN"
    assert authorizer["FunctionArn"] == {"Ref": "AuthorizerFunction.Alias"}  # the published version (SnapStart)
    assert authorizer["Identity"]["Header"] == "Authorization"
    assert authorizer["Identity"]["ReauthorizeEvery"] == {"Ref": "AuthorizerCacheTtlSeconds"}
    assert TEMPLATE["Parameters"]["AuthorizerCacheTtlSeconds"]["Default"] == 0
    assert auth["AddDefaultAuthorizerToCorsPreflight"] is False


def test_authorizer_function_when_declared_has_no_routes() -> None:
    assert "Events" not in FUNCTIONS["AuthorizerFunction"]["Properties"]


@pytest.mark.parametrize("setting", ["Runtime", "Architectures", "Layers"])
def test_function_settings_for_every_function_come_from_globals(setting: str) -> None:
    overriding = [logical_id for logical_id, function in FUNCTIONS.items() if setting in function["Properties"]]

    assert overriding == []


def test_function_runtime_for_every_function_is_python313_on_arm64() -> None:
    layer = RESOURCES["SharedLayer"]

    assert GLOBALS["Runtime"] == "python3.13"
    assert GLOBALS["Architectures"] == ["arm64"]
    assert GLOBALS["Layers"] == [{"Ref": "SharedLayer"}]
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}


def test_environment_for_every_function_names_resources_and_secure_defaults() -> None:
    variables = GLOBALS["Environment"]["Variables"]

    assert variables["USERS_TABLE_NAME"] == {"Ref": "UsersTable"}
    assert variables["TOKENS_TABLE_NAME"] == {"Ref": "TokensTable"}
    assert variables["SIGNING_KEY_SECRET_ARN"] == {"Ref": "SigningKeySecret"}
    assert variables["COOKIE_SECURE"] == "true"
    # Local runs may point boto3 elsewhere; a deployed function never gets the variable.
    assert variables["AWS_ENDPOINT_URL"] == {"Ref": "AWS::NoValue"}
    assert {
        "TOKEN_ISSUER",
        "TOKEN_AUDIENCE",
        "ACCESS_TOKEN_TTL_SECONDS",
        "REFRESH_TOKEN_TTL_SECONDS",
        "REFRESH_REUSE_GRACE_SECONDS",
        "BCRYPT_COST",
        "ALLOWED_ORIGINS",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
        "STAGE",
    } <= set(variables)


def test_bcrypt_cost_when_deployed_cannot_go_below_12() -> None:
    assert TEMPLATE["Parameters"]["BcryptCost"]["MinValue"] == 12


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_log_group_for_each_function_applies_retention(logical_id: str) -> None:
    log_group = RESOURCES[f"{logical_id}LogGroup"]

    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


# ---------------------------------------------------------------------------------------------------------------
# Least privilege


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_policy_statements_for_each_function_are_inline_allows_without_wildcards(logical_id: str) -> None:
    for statement in _statements(FUNCTIONS[logical_id]):
        assert statement["Effect"] == "Allow"
        assert set(statement) <= {"Effect", "Action", "Resource", "Condition"}
        assert all("*" not in action for action in _as_list(statement["Action"]))
        # "*" only where IAM has no resource yet: creating a key, and only an ES256 one
        if statement["Resource"] == "*":
            assert (statement["Action"], _condition_name(statement.get("Condition"))) == (
                ["kms:CreateKey"],
                "[ECC_NIST_P256/SIGN_VERIFY]",
            )


@pytest.mark.parametrize("logical_id", sorted(EXPECTED_GRANTS))
def test_policy_grants_for_each_function_match_least_privilege_table(logical_id: str) -> None:
    assert _grants(FUNCTIONS[logical_id]) == EXPECTED_GRANTS[logical_id]


def test_secret_read_when_granted_is_limited_to_functions_that_sign_or_seal_and_the_secret() -> None:
    readers = {
        logical_id: {resource for action, resource in _grants(function) if action.startswith("secretsmanager:")}
        for logical_id, function in FUNCTIONS.items()
    }

    assert {logical_id for logical_id, resources in readers.items() if resources} == {
        "LoginFunction",
        "RefreshFunction",
        "LogoutFunction",
        "AdminFunction",
        "RotateKeyFunction",
    }
    assert all(resources <= {SECRET} for resources in readers.values())


# ---------------------------------------------------------------------------------------------------------------
# Data


@pytest.mark.parametrize("logical_id", sorted(TABLES))
def test_table_settings_for_each_table_enable_on_demand_pitr_sse_ttl_and_retain(logical_id: str) -> None:
    table = TABLES[logical_id]
    properties = table["Properties"]

    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert "TableName" not in properties  # generated names: two stacks never collide


def test_table_keys_when_declared_match_the_repositories() -> None:
    assert TABLES["UsersTable"]["Properties"]["KeySchema"] == [{"AttributeName": "email", "KeyType": "HASH"}]
    assert TABLES["TokensTable"]["Properties"]["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]


def test_users_index_when_projected_never_includes_password_hash_nor_changes() -> None:
    """DynamoDB can't change an existing index's projection: a new attribute there would make every deployed stack
    fail to update. What the index projects is therefore fixed; new attributes are read from the table."""
    (index,) = TABLES["UsersTable"]["Properties"]["GlobalSecondaryIndexes"]

    assert index["IndexName"] == "user_id-index"
    assert index["KeySchema"] == [{"AttributeName": "user_id", "KeyType": "HASH"}]
    assert index["Projection"]["ProjectionType"] == "INCLUDE"
    assert index["Projection"]["NonKeyAttributes"] == ["role", "status", "created_at", "tokens_valid_after"]


def test_sessions_index_when_projected_is_sparse_and_never_includes_a_token_hash() -> None:
    (index,) = TABLES["TokensTable"]["Properties"]["GlobalSecondaryIndexes"]

    assert index["IndexName"] == "user_id-created_at-index"
    assert [key["AttributeName"] for key in index["KeySchema"]] == ["user_id", "created_at"]
    assert index["Projection"]["ProjectionType"] == "INCLUDE"
    assert not [name for name in index["Projection"]["NonKeyAttributes"] if "hash" in name]


def test_signing_secret_when_generated_has_at_least_256_random_bits() -> None:
    secret = RESOURCES["SigningKeySecret"]
    spec = secret["Properties"]["GenerateSecretString"]
    alphabet_size = len("".join(cfn.password_alphabet(spec)))

    assert spec["PasswordLength"] >= 43
    assert spec["PasswordLength"] * math.log2(alphabet_size) >= 256
    assert json.loads(spec["SecretStringTemplate"]) == {"kid": "k1", "alg": "HS256"}
    assert spec["GenerateStringKey"] == "key"
    assert secret["DeletionPolicy"] == "Retain"
    assert secret["UpdateReplacePolicy"] == "Retain"


# ---------------------------------------------------------------------------------------------------------------
# Gateway responses


def test_gateway_responses_when_declared_cover_every_expected_type() -> None:
    assert set(GATEWAY_RESPONSES) == set(EXPECTED_GATEWAY_RESPONSES)


@pytest.mark.parametrize("response_type", sorted(GATEWAY_RESPONSES))
def test_gateway_response_for_each_type_carries_security_headers(response_type: str) -> None:
    headers = GATEWAY_RESPONSES[response_type]["ResponseParameters"]["Headers"]
    values = {name: cfn.gateway_static_value(value) for name, value in headers.items()}

    assert values.items() >= SECURITY_HEADERS.items()


@pytest.mark.parametrize("response_type", sorted(EXPECTED_GATEWAY_RESPONSES))
def test_gateway_response_for_each_type_has_expected_status_and_json_error_body(response_type: str) -> None:
    status, error = EXPECTED_GATEWAY_RESPONSES[response_type]
    response = GATEWAY_RESPONSES[response_type]
    body = json.loads(response["ResponseTemplates"]["application/json"])

    assert response.get("StatusCode") == status
    assert body["error"] == error
    assert body["message"]
    assert ("details" in body) == (error == "validation_error")


@pytest.mark.parametrize(
    ("response_type", "challenge"),
    [
        ("UNAUTHORIZED", 'Bearer realm="serverless-jwt-auth"'),
        ("ACCESS_DENIED", 'Bearer realm="serverless-jwt-auth", error="invalid_token"'),
    ],
)
def test_auth_failure_response_when_rendered_is_401_with_bearer_challenge(response_type: str, challenge: str) -> None:
    response = GATEWAY_RESPONSES[response_type]
    headers = response["ResponseParameters"]["Headers"]

    assert response["StatusCode"] == 401
    assert cfn.gateway_static_value(headers["WWW-Authenticate"]) == challenge


def test_outputs_when_deployed_expose_url_tables_and_secret() -> None:
    outputs = TEMPLATE["Outputs"]

    assert outputs["ApiUrl"]["Value"] == {
        "Fn::Sub": "https://${AuthApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}"
    }
    assert outputs["UsersTableName"]["Value"] == {"Ref": "UsersTable"}
    assert outputs["TokensTableName"]["Value"] == {"Ref": "TokensTable"}
    assert outputs["SigningKeySecretArn"]["Value"] == {"Ref": "SigningKeySecret"}


# ---------------------------------------------------------------------------------------------------------------
# Alarms (README, Runbook)

ALARMS = cfn.resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm")
VARIABLES = GLOBALS["Environment"]["Variables"]
NAMESPACE = VARIABLES["POWERTOOLS_METRICS_NAMESPACE"]
SERVICE = VARIABLES["POWERTOOLS_SERVICE_NAME"]
NOTIFY_TOPIC_IF_ANY = {"Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]}
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Watch:
    """What an alarm watches and when it fires: `statistic` over `period` seconds above `threshold`, in
    `periods` periods in a row."""

    namespace: Any
    metric: str
    dimensions: dict[str, Any]
    statistic: str
    period: int
    threshold: Any
    periods: int = 1


def _lambda_watch(function: str, metric: str) -> Watch:
    return Watch("AWS/Lambda", metric, {"FunctionName": {"Ref": function}}, "Sum", 300, 0)


def _dynamodb_query(table: str, metric: str) -> dict[str, str]:
    return {
        "Fn::Sub": f'SELECT SUM({metric}) FROM SCHEMA("AWS/DynamoDB", Operation, TableName) '
        f"WHERE TableName = '${{{table}}}'"
    }


EXPECTED_ALARMS = {
    "RefreshReuseAlarm": Watch(NAMESPACE, "RefreshReuseDetected", {"service": SERVICE}, "Sum", 60, 0),
    "MailSendFailuresAlarm": Watch(NAMESPACE, "MailSendFailures", {"service": SERVICE}, "Sum", 300, 0),
    "LoginFailuresAlarm": Watch(
        NAMESPACE, "LoginFailures", {"service": SERVICE}, "Sum", 300, {"Ref": "LoginFailureAlarmThreshold"}
    ),
    "ApiServerErrorsAlarm": Watch(
        "AWS/ApiGateway", "5XXError", {"ApiName": API["Name"], "Stage": {"Ref": "Stage"}}, "Average", 60, 0.05, 3
    ),
    # every function, so a new function without its alarms fails here
    **{
        f"{function}{metric}Alarm": _lambda_watch(function, metric)
        for function in FUNCTIONS
        for metric in ("Errors", "Throttles")
    },
}
# every table: (metric, the Metrics Insights query that adds up its operations)
EXPECTED_TABLE_ALARMS = {
    f"{table}{metric}Alarm": _dynamodb_query(table, metric)
    for table in TABLES
    for metric in ("ThrottledRequests", "SystemErrors")
}


def test_alarms_when_declared_are_exactly_the_expected_ones() -> None:
    assert set(ALARMS) == set(EXPECTED_ALARMS) | set(EXPECTED_TABLE_ALARMS)


@pytest.mark.parametrize("logical_id", sorted(EXPECTED_ALARMS))
def test_metric_alarm_for_each_watch_fires_above_its_threshold(logical_id: str) -> None:
    watch = EXPECTED_ALARMS[logical_id]
    properties = ALARMS[logical_id]["Properties"]

    assert properties["Namespace"] == watch.namespace
    assert properties["MetricName"] == watch.metric
    assert {d["Name"]: d["Value"] for d in properties["Dimensions"]} == watch.dimensions
    assert len(properties["Dimensions"]) == len(watch.dimensions)
    assert (properties["Statistic"], properties["Period"]) == (watch.statistic, watch.period)
    assert properties["Threshold"] == watch.threshold
    assert properties["EvaluationPeriods"] == properties.get("DatapointsToAlarm", watch.periods) == watch.periods


@pytest.mark.parametrize("logical_id", sorted(EXPECTED_TABLE_ALARMS))
def test_table_alarm_for_each_table_sums_every_operation_over_5_minutes(logical_id: str) -> None:
    properties = ALARMS[logical_id]["Properties"]
    [query] = properties["Metrics"]

    assert query["Expression"] == EXPECTED_TABLE_ALARMS[logical_id]
    assert (query["Period"], query["ReturnData"]) == (300, True)
    assert (properties["Threshold"], properties["EvaluationPeriods"]) == (0, 1)


@pytest.mark.parametrize("logical_id", sorted(ALARMS))
def test_alarm_for_each_alarm_fires_above_threshold_treats_no_data_as_fine_and_notifies_topic_if_any(
    logical_id: str,
) -> None:
    properties = ALARMS[logical_id]["Properties"]

    assert properties["ComparisonOperator"] == "GreaterThanThreshold"
    assert properties["TreatMissingData"] == "notBreaching"
    assert properties["AlarmActions"] == NOTIFY_TOPIC_IF_ANY
    assert properties["OKActions"] == NOTIFY_TOPIC_IF_ANY
    assert "AlarmName" not in properties  # generated names carry the stack's: two stacks never collide


@pytest.mark.parametrize("logical_id", sorted(ALARMS))
def test_alarm_description_for_each_alarm_names_a_runbook_entry_in_the_readme(logical_id: str) -> None:
    description = ALARMS[logical_id]["Properties"]["AlarmDescription"]
    match = re.search(r'Runbook: README\.md, "([^"]+)"\.$', description)

    assert match, description
    assert re.search(rf"^### {re.escape(match[1])}$", README, re.MULTILINE), f"no runbook entry {match[1]!r}"


def test_custom_metric_alarms_when_deployed_read_this_stacks_namespace() -> None:
    # One namespace per stack: a dev stack in the same account never fires the prod stack's security alarms.
    assert NAMESPACE == {"Fn::Sub": "ServerlessJwtAuth/${AWS::StackName}"}
    assert SERVICE == "serverless-jwt-auth"


@pytest.mark.parametrize("metric", ["RefreshReuseDetected", "LoginFailures", "MailSendFailures"])
def test_custom_metric_alarm_for_each_metric_watches_a_metric_the_layer_emits(metric: str) -> None:
    sources = (REPO_ROOT / "layers" / "shared" / "auth_core").glob("*.py")

    assert any(f'count("{metric}")' in source.read_text(encoding="utf-8") for source in sources)


def test_alarm_email_when_empty_creates_no_topic() -> None:
    parameter = TEMPLATE["Parameters"]["AlarmEmail"]
    pattern = re.compile(parameter["AllowedPattern"])

    assert parameter["Type"] == "String"
    assert parameter["Default"] == ""
    assert all(pattern.fullmatch(value) for value in ("", "ops@example.com"))
    assert not any(pattern.fullmatch(value) for value in ("ops", "ops@example.com, x@example.com", " "))
    assert TEMPLATE["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    assert RESOURCES["AlarmTopic"]["Condition"] == RESOURCES["AlarmTopicKey"]["Condition"] == "HasAlarmEmail"
    assert TEMPLATE["Outputs"]["AlarmTopicArn"] == {
        "Condition": "HasAlarmEmail",
        "Description": "SNS topic the alarms notify (subscribe more endpoints to it)",
        "Value": {"Ref": "AlarmTopic"},
    }


def test_alarm_topic_when_email_set_mails_it_through_its_own_key() -> None:
    properties = RESOURCES["AlarmTopic"]["Properties"]

    assert properties["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]
    assert properties["DisplayName"] == {"Fn::Sub": "${AWS::StackName} alarms"}
    # Not alias/aws/sns: CloudWatch can't use the AWS-managed key, and its notifications would be dropped silently.
    assert properties["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}


def test_alarm_topic_key_when_created_lets_only_the_account_and_cloudwatch_use_it() -> None:
    key = RESOURCES["AlarmTopicKey"]
    properties = key["Properties"]
    administer, publish = properties["KeyPolicy"]["Statement"]

    assert properties["EnableKeyRotation"] is True
    assert properties["PendingWindowInDays"] == 7
    assert properties["Description"] == {"Fn::Sub": "Encrypts the alarm notifications of ${AWS::StackName}"}
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Delete"  # it protects nothing that outlives it
    assert administer == {
        "Effect": "Allow",
        "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
        "Action": "kms:*",
        "Resource": "*",
    }
    assert publish == {
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"StringEqualsIfExists": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
    }


def test_login_failure_threshold_when_not_set_is_100_per_5_minutes() -> None:
    parameter = TEMPLATE["Parameters"]["LoginFailureAlarmThreshold"]

    assert (parameter["Type"], parameter["Default"], parameter["MinValue"]) == ("Number", 100, 1)


# ---------------------------------------------------------------------------------------------------------------
# Signing keys (KMS): only the issuers sign, nobody reads a private key


SIGNING_KEY = RESOURCES["SigningKmsKey"]
KEY_STATEMENTS = {statement["Sid"]: statement for statement in SIGNING_KEY["Properties"]["KeyPolicy"]["Statement"]}
ISSUER_ROLES = [{"Fn::GetAtt": ["LoginFunctionRole", "Arn"]}, {"Fn::GetAtt": ["RefreshFunctionRole", "Arn"]}]


def test_signing_key_when_declared_is_an_es256_kms_key_deleted_after_7_days() -> None:
    properties = SIGNING_KEY["Properties"]

    assert (properties["KeySpec"], properties["KeyUsage"], properties["PendingWindowInDays"]) == (
        "ECC_NIST_P256",
        "SIGN_VERIFY",
        7,
    )


def test_signing_key_policy_lets_only_the_issuers_sign() -> None:
    signers = [
        statement for statement in KEY_STATEMENTS.values() if {"kms:Sign", "kms:*", "*"} & set(statement["Action"])
    ]

    assert [statement["Principal"]["AWS"] for statement in signers] == [ISSUER_ROLES]
    assert all(statement["Effect"] == "Allow" for statement in KEY_STATEMENTS.values())
    assert not any("*" in action for statement in KEY_STATEMENTS.values() for action in statement["Action"])


def test_signing_key_policy_when_compared_to_the_rotations_is_the_same() -> None:
    """Every later key gets its policy from auth_core.signing_key_rotation: the first one must not differ."""
    from auth_core.signing_key_rotation import key_policy

    generated = key_policy(
        issuer_roles=["arn:aws:iam::1:role/login", "arn:aws:iam::1:role/refresh"],
        rotator_role="arn:aws:iam::1:role/rotate",
    )

    assert [(s["Sid"], s["Action"]) for s in generated["Statement"]] == [
        (sid, statement["Action"]) for sid, statement in KEY_STATEMENTS.items()
    ]
    assert KEY_STATEMENTS["RotationRetires"]["Principal"]["AWS"] == {
        "Fn::GetAtt": ["RotateSigningKeyFunctionRole", "Arn"]
    }


def test_kms_when_granted_by_iam_is_only_creating_an_es256_key() -> None:
    """No function's IAM policy signs, reads a public key or does anything else with KMS: signing comes from the
    keys' own policies (issuers only), and KMS has no call that returns a private key."""
    kms_grants = {
        (logical_id, action)
        for logical_id, function in FUNCTIONS.items()
        for action, _ in _grants(function)
        if action.startswith("kms:")
    }

    assert kms_grants == {("RotateSigningKeyFunction", "kms:CreateKey")}


def test_signing_key_id_when_set_reaches_only_the_functions_that_use_it() -> None:
    holders = {
        logical_id
        for logical_id, function in FUNCTIONS.items()
        if "SIGNING_KMS_KEY_ID" in ((function["Properties"].get("Environment") or {}).get("Variables") or {})
    }

    assert holders == {"LoginFunction", "RefreshFunction", "RotateSigningKeyFunction"}
    assert "SIGNING_KMS_KEY_ID" not in GLOBALS["Environment"]["Variables"]


def test_signing_key_rotation_when_scheduled_runs_daily_and_rotates_every_90_days_by_default() -> None:
    function = FUNCTIONS["RotateSigningKeyFunction"]["Properties"]

    assert function["Events"]["Daily"] == {
        "Type": "Schedule",
        "Properties": {
            "Schedule": "rate(1 day)",
            "Description": "Retire expired signing keys; rotate the current one when it is due",
        },
    }
    assert function["Environment"]["Variables"]["SIGNING_KEY_ROTATION_DAYS"] == {"Ref": "SigningKeyRotationDays"}
    assert TEMPLATE["Parameters"]["SigningKeyRotationDays"]["Default"] == 90


def test_issuer_when_not_set_defaults_to_the_stage_url() -> None:
    assert TEMPLATE["Parameters"]["PublicBaseUrl"]["Default"] == ""
    assert GLOBALS["Environment"]["Variables"]["TOKEN_ISSUER"] == {"Ref": "PublicBaseUrl"}


def test_snapstart_off_by_default_on_for_published_versions_behind_the_alias_the_api_invokes() -> None:
    functions = TEMPLATE["Globals"]["Function"]

    assert TEMPLATE["Parameters"]["SnapStart"]["Default"] == "false"
    assert TEMPLATE["Conditions"]["IsSnapStartOn"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "true"]}
    assert functions["SnapStart"] == {"ApplyOn": {"Fn::If": ["IsSnapStartOn", "PublishedVersions", "None"]}}
    assert functions["AutoPublishAlias"] == "live"  # SAM points Events: Api at the alias

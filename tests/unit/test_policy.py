"""auth_core.policy: the authorizer's answer has the shape Powertools' APIGatewayAuthorizerResponse gives API Gateway."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    parse_api_gateway_arn,
)

from auth_core.policy import MethodArn, authorizer_response

ARNS = [
    "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/GET/me",
    "arn:aws:execute-api:eu-west-3:210987654321:zyxw987654/prod/DELETE/me/sessions/abc",
    "arn:aws-cn:execute-api:cn-north-1:123456789012:abcdef1234/v1/POST/auth/logout",
    "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/GET/",
]


@pytest.mark.parametrize("method_arn", ARNS)
@pytest.mark.parametrize("allow", [True, False])
def test_authorizer_response_matches_powertools(method_arn: str, allow: bool) -> None:
    context: dict[str, str | int | bool] = {"sub": "u1", "email": "a@example.com", "role": "user", "sid": "s1"}
    parsed = parse_api_gateway_arn(method_arn)
    expected = APIGatewayAuthorizerResponse(
        principal_id="u1",
        context=context,
        partition=parsed.partition,
        region=parsed.region,
        aws_account_id=parsed.aws_account_id,
        api_id=parsed.api_id,
        stage=parsed.stage,
    )
    if allow:
        expected.allow_all_routes()
    else:
        expected.deny_all_routes()

    arn = MethodArn.parse(method_arn)

    assert (arn.partition, arn.region, arn.aws_account_id, arn.api_id, arn.stage) == (
        parsed.partition,
        parsed.region,
        parsed.aws_account_id,
        parsed.api_id,
        parsed.stage,
    )
    assert authorizer_response(arn, allow=allow, principal_id="u1", context=context) == expected.asdict()


@pytest.mark.parametrize(
    "method_arn",
    ["", "arn:aws:lambda:us-east-1:123456789012:function:x", "arn:aws:execute-api:us-east-1:123456789012:abcdef1234"],
)
def test_method_arn_not_execute_api_refused(method_arn: str) -> None:
    with pytest.raises(ValueError, match="execute-api"):
        MethodArn.parse(method_arn)

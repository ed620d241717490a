"""The IAM policy a Lambda (TOKEN) authorizer answers API Gateway with: a plain dict, built without Powertools'
data-classes package (importing its authorizer event module runs the package's `__init__`, which imports every event
class: tens of milliseconds of the authorizer's cold start for two small dicts).

The shape is API Gateway's ("Output from an API Gateway Lambda authorizer"): `principalId`, a `policyDocument` with
one `execute-api:Invoke` statement on the whole API (`<stage>/*/*`), and `context` (strings, numbers or booleans
only). tests/unit/test_policy.py checks it against what Powertools' APIGatewayAuthorizerResponse produces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MethodArn:
    """The parts of an authorizer event's `methodArn`: arn:<partition>:execute-api:<region>:<account>:<api>/<stage>/."""

    partition: str
    region: str
    aws_account_id: str
    api_id: str
    stage: str

    @classmethod
    def parse(cls, arn: str) -> MethodArn:
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != "execute-api":
            raise ValueError("not an execute-api method ARN")
        path = parts[5].split("/")
        if len(path) < 2:
            raise ValueError("not an execute-api method ARN")
        return cls(partition=parts[1], region=parts[3], aws_account_id=parts[4], api_id=path[0], stage=path[1])

    def whole_api(self) -> str:
        """Every method of every resource of this stage."""
        return f"arn:{self.partition}:execute-api:{self.region}:{self.aws_account_id}:{self.api_id}/{self.stage}/*/*"


def authorizer_response(
    arn: MethodArn, *, allow: bool, principal_id: str, context: dict[str, str | int | bool]
) -> dict[str, Any]:
    """Allow or Deny every route of the API for `principal_id`, with `context` for the integration (or for the
    ACCESS_DENIED gateway response's template)."""
    statement = {"Action": "execute-api:Invoke", "Effect": "Allow" if allow else "Deny", "Resource": [arn.whole_api()]}
    return {
        "principalId": principal_id,
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        "context": context,
    }

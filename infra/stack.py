"""Point the service's settings at a deployed stack's resources, for the operator commands run from a laptop."""

from __future__ import annotations

import os

import boto3

from auth_core import container

OUTPUT_TO_SETTING = {
    "UsersTableName": "USERS_TABLE_NAME",
    "TokensTableName": "TOKENS_TABLE_NAME",
    "SigningKeySecretArn": "SIGNING_KEY_SECRET_ARN",
    "IssuerRoleArns": "ISSUER_ROLE_ARNS",
    "SigningKeyRotatorRoleArn": "ROTATOR_ROLE_ARN",
}
PARAMETER_TO_SETTING = {
    "BcryptCost": "BCRYPT_COST",
    "PublicBaseUrl": "TOKEN_ISSUER",
    "TokenAudience": "TOKEN_AUDIENCE",
    "AccessTokenTtlSeconds": "ACCESS_TOKEN_TTL_SECONDS",
}


def configure_from_stack(stack_name: str) -> None:
    """Read the stack's outputs and parameters with your AWS credentials, and set them exactly as its functions see
    them, so the command runs the service's own code against the stack's tables and secret."""
    [stack] = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    for output in stack.get("Outputs", []):
        if output["OutputKey"] in OUTPUT_TO_SETTING:
            os.environ[OUTPUT_TO_SETTING[output["OutputKey"]]] = output["OutputValue"]
    for parameter in stack.get("Parameters", []):
        if parameter["ParameterKey"] in PARAMETER_TO_SETTING:
            os.environ[PARAMETER_TO_SETTING[parameter["ParameterKey"]]] = parameter["ParameterValue"]
    container.reset()

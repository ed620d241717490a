"""Create the first admin of a deployed stack: `make admin STAGE=dev EMAIL=you@example.com`.

Reads the stack's outputs (tables, secret) with your AWS credentials, asks for the password twice (or takes
ADMIN_PASSWORD from the environment, for automation), applies the password policy and writes the user with the
service's own code. An email that is already registered is promoted to admin instead.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

import boto3

from auth_core import container
from auth_core.errors import EmailTakenError
from auth_core.models import normalize_email
from auth_core.passwords import password_problems

OUTPUT_TO_SETTING = {
    "UsersTableName": "USERS_TABLE_NAME",
    "TokensTableName": "TOKENS_TABLE_NAME",
    "SigningKeySecretArn": "SIGNING_KEY_SECRET_ARN",
}
PARAMETER_TO_SETTING = {"BcryptCost": "BCRYPT_COST", "TokenIssuer": "TOKEN_ISSUER", "TokenAudience": "TOKEN_AUDIENCE"}


def configure_from_stack(stack_name: str) -> None:
    """Point the settings at the stack's resources, exactly as its functions see them."""
    [stack] = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    for output in stack.get("Outputs", []):
        if output["OutputKey"] in OUTPUT_TO_SETTING:
            os.environ[OUTPUT_TO_SETTING[output["OutputKey"]]] = output["OutputValue"]
    for parameter in stack.get("Parameters", []):
        if parameter["ParameterKey"] in PARAMETER_TO_SETTING:
            os.environ[PARAMETER_TO_SETTING[parameter["ParameterKey"]]] = parameter["ParameterValue"]
    container.reset()


def read_password(email: str) -> str:
    password = os.environ.get("ADMIN_PASSWORD") or getpass.getpass("Password for the admin: ")
    if "ADMIN_PASSWORD" not in os.environ and getpass.getpass("Again: ") != password:
        sys.exit("The passwords differ.")
    problems = password_problems(password, email=email)
    if problems:
        sys.exit("The password " + "; ".join(problems) + ".")
    return password


def ensure_admin(email: str, password: str | None) -> str:
    """Create the admin, or promote the existing account; returns what was done."""
    try:
        if password is None:
            raise EmailTakenError()
        user = container.auth_service().create_admin(email=email, password=password)
        return f"Created admin {user.email} (id {user.id})."
    except EmailTakenError:
        users = container.users_repository()
        existing = users.get_by_email(email)
        assert existing is not None
        users.update(email=existing.email, user_id=existing.id, role="admin")
        return f"{email} was already registered: promoted to admin."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack", required=True, help="the CloudFormation stack name, e.g. serverless-jwt-auth-dev")
    parser.add_argument("--email", required=True)
    args = parser.parse_args(argv)
    try:
        email = normalize_email(args.email)
    except ValueError:
        sys.exit(f"Not a valid email address: {args.email!r}")
    configure_from_stack(args.stack)
    existing = container.users_repository().get_by_email(email)
    print(ensure_admin(email, None if existing else read_password(email)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

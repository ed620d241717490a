"""Replace the signing key now, after a leak: `make rotate-key-emergency STAGE=dev`.

A scheduled rotation keeps the old key as AWSPREVIOUS, so tokens signed with it keep working until they expire: right
for a routine rotation, wrong once the key has leaked, because whoever holds it can keep signing tokens that verify.
This makes a new key current through the rotation function's own steps and takes the AWSPREVIOUS label off every other
version, so the old key verifies nothing. Everything signed with the old key stops working (access tokens, every
session's refresh tokens, device cookies): users sign in again. Warm functions keep the keys they hold for up to
KEY_CACHE_SECONDS (300 s by default) before they read the secret again.
"""

from __future__ import annotations

import argparse
import sys

from auth_core import container
from auth_core.key_rotation import KeyRotator
from auth_core.settings import get_settings
from infra.stack import configure_from_stack

WARNING = (
    "Everything signed with the old key stops working: access tokens, every session's refresh tokens and device "
    "cookies. Users sign in again. Warm functions may keep the old key for up to KEY_CACHE_SECONDS (default 300 s)."
)


def is_confirmed(stack_name: str, secret_id: str) -> bool:
    print(f"Replace the signing key of {stack_name} ({secret_id}) now, leaving the old key valid nowhere?")
    print(WARNING)
    if sys.stdin is None or not sys.stdin.isatty():
        return False
    return input('Type "yes" to replace it: ').strip() == "yes"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack", required=True, help="the CloudFormation stack name, e.g. serverless-jwt-auth-dev")
    parser.add_argument("--yes", action="store_true", help="replace without asking (automation)")
    args = parser.parse_args(argv)
    configure_from_stack(args.stack)
    secret_id = get_settings().SIGNING_KEY_SECRET_ARN
    if not args.yes and not is_confirmed(args.stack, secret_id):
        print("Not confirmed (on a terminal type yes, or pass --yes): nothing was changed.", file=sys.stderr)
        return 1
    version = KeyRotator(container.secretsmanager()).replace_now(secret_id=secret_id)
    print(f"Signing key replaced: version {version} is the only one verifiers accept. {WARNING}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Replace the keys now, after a suspected compromise: `make rotate-key-emergency STAGE=dev [KEY=...]`.

Two keys, and by default both are replaced (`--key signing-key` or `--key service-secret` for one):
- the access-token signing key (KMS, ES256): a new KMS key becomes current and every other one leaves the registry
  at once, so the JWKS stops publishing it and every authorizer refuses the tokens it signed at the next request (the
  registry is read with each request's revocation check); the old keys are scheduled for deletion, so they can't sign
  again. Users whose access token is refused refresh it (their refresh tokens are not signed by that key).
- the service's HMAC secret (Secrets Manager): a scheduled rotation keeps the old key as AWSPREVIOUS; after a leak
  this makes a new key current through the rotation function's own steps and takes the AWSPREVIOUS label off every
  other version, so everything it tagged stops working (every session's refresh tokens, device cookies, cursors):
  users sign in again. Warm functions keep the secret they hold for up to KEY_CACHE_SECONDS (300 s by default).
"""

from __future__ import annotations

import argparse
import sys

from auth_core import container
from auth_core.key_rotation import KeyRotator
from auth_core.settings import get_settings
from infra.stack import configure_from_stack

SIGNING_KEY, SERVICE_SECRET = "signing-key", "service-secret"
WARNINGS = {
    SIGNING_KEY: "Every access token signed with the old signing key is refused at once; clients refresh.",
    SERVICE_SECRET: "Everything tagged with the old secret stops working: every session's refresh tokens and device "
    "cookies. Users sign in again. Warm functions may keep the old secret for up to KEY_CACHE_SECONDS (default 300 s).",
}


def is_confirmed(stack_name: str, keys: list[str]) -> bool:
    print(f"Replace {' and '.join(keys)} of {stack_name} now, leaving the old one valid nowhere?")
    for key in keys:
        print(WARNINGS[key])
    if sys.stdin is None or not sys.stdin.isatty():
        return False
    return input('Type "yes" to replace: ').strip() == "yes"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack", required=True, help="the CloudFormation stack name, e.g. serverless-jwt-auth-dev")
    parser.add_argument("--key", choices=["all", SIGNING_KEY, SERVICE_SECRET], default="all", help="what to replace")
    parser.add_argument("--yes", action="store_true", help="replace without asking (automation)")
    args = parser.parse_args(argv)
    keys = [SIGNING_KEY, SERVICE_SECRET] if args.key == "all" else [args.key]
    configure_from_stack(args.stack)
    if not args.yes and not is_confirmed(args.stack, keys):
        print("Not confirmed (on a terminal type yes, or pass --yes): nothing was changed.", file=sys.stderr)
        return 1
    if SIGNING_KEY in keys:
        current = container.signing_key_rotator().emergency().current
        print(f"Signing key replaced: {current.kid if current else '?'} is the only key verifiers accept.")
    if SERVICE_SECRET in keys:
        version = KeyRotator(container.secretsmanager()).replace_now(secret_id=get_settings().SIGNING_KEY_SECRET_ARN)
        print(f"Service secret replaced: version {version} is the only one verifiers accept.")
    for key in keys:
        print(WARNINGS[key])
    return 0


if __name__ == "__main__":
    sys.exit(main())

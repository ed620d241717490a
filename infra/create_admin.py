"""Make an admin in a deployed stack: `make admin STAGE=dev EMAIL=you@example.com [PROMOTE=1]`.

Creating (the default) asks for the password twice (or takes ADMIN_PASSWORD from the environment, for automation),
applies the password policy and writes a new admin with the service's own code. It never changes an account that
exists: whoever registered the email chose its password, and that may be an attacker who registered the operator's
address first, or while the operator was typing. Making that account an admin would hand them the service.

Promoting (`--promote`) makes an existing account an admin once the operator has checked it is theirs: it shows the
account's id, creation time, role and status, and the operator types the id back (or, for automation, passes it as
`--yes-promote-user-id`). With no terminal and no such option, nothing is promoted.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from auth_core import container
from auth_core.errors import EmailTakenError
from auth_core.models import normalize_email
from auth_core.observability import audit
from auth_core.passwords import password_problems
from infra.stack import configure_from_stack


class RefusedError(Exception):
    """Nothing was changed; the message says why and what the operator can do instead."""


def already_registered(email: str) -> RefusedError:
    return RefusedError(
        f"{email} is already registered: no admin was created and that account was not changed (whoever registered "
        "it chose its password). If the account is yours, run again with --promote (make admin ... PROMOTE=1) to "
        "check its id and creation time and confirm."
    )


def read_password(email: str) -> str:
    password = os.environ.get("ADMIN_PASSWORD") or getpass.getpass("Password for the admin: ")
    if "ADMIN_PASSWORD" not in os.environ and getpass.getpass("Again: ") != password:
        raise RefusedError("The passwords differ: no admin was created.")
    problems = password_problems(password, email=email)
    if problems:
        raise RefusedError("The password " + "; ".join(problems) + ": no admin was created.")
    return password


def create(email: str) -> str:
    """A new admin account; refused when the email is registered, before the password prompt or after it."""
    if container.users_repository().get_by_email(email) is not None:
        raise already_registered(email)
    password = read_password(email)
    try:
        user = container.auth_service().create_admin(email=email, password=password)
    except EmailTakenError:
        # Registered while the password was typed: the conditional write refused to overwrite it. Same answer as
        # above, never a promotion (that account's password is someone else's choice).
        raise already_registered(email) from None
    return f"Created admin {user.email} (id {user.id})."


def confirmation(user_id_option: str | None) -> str:
    """The id the operator confirms: the option's, or typed on the terminal; refused when nobody can type it."""
    if user_id_option is not None:
        return user_id_option
    if sys.stdin is None or not sys.stdin.isatty():
        raise RefusedError(
            "Promoting needs a confirmation: run this on a terminal, or pass --yes-promote-user-id <the account's id> "
            "(make admin ... PROMOTE=1 PROMOTE_USER_ID=<id>). Nothing was promoted."
        )
    return input("Type the account's id to make it an admin: ").strip()


def promote(email: str, user_id_option: str | None) -> str:
    """Make the existing account an admin once its id is confirmed."""
    users = container.users_repository()
    user = users.get_by_email(email)
    if user is None:
        raise RefusedError(
            f"There is no account for {email}: nothing was promoted (run without --promote to create one)."
        )
    print(f"{user.email}: id {user.id}, created {user.created_at}, role {user.role}, status {user.status}.")
    if user.role == "admin":
        return f"{user.email} is already an admin: nothing changed."
    if confirmation(user_id_option) != user.id:
        raise RefusedError(f"That is not the id of {user.email}'s account: it was not promoted.")
    # The write is conditional on this id: if the email has meanwhile come to name another account, nothing changes.
    users.update(email=user.email, user_id=user.id, role="admin")
    audit("role_change", "success", user_id=user.id, role="admin", actor="make admin")
    return f"{user.email} (id {user.id}) promoted to admin."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack", required=True, help="the CloudFormation stack name, e.g. serverless-jwt-auth-dev")
    parser.add_argument("--email", required=True)
    parser.add_argument("--promote", action="store_true", help="make an existing account admin, after confirming it")
    parser.add_argument(
        "--yes-promote-user-id", metavar="ID", help="with --promote: confirm without a prompt; must be the account's id"
    )
    args = parser.parse_args(argv)
    if args.yes_promote_user_id is not None and not args.promote:
        parser.error("--yes-promote-user-id confirms --promote; pass both")
    try:
        email = normalize_email(args.email)
    except ValueError:
        print(f"Not a valid email address: {args.email!r}", file=sys.stderr)
        return 1
    configure_from_stack(args.stack)
    try:
        print(promote(email, args.yes_promote_user_id) if args.promote else create(email))
    except RefusedError as refusal:
        print(refusal, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

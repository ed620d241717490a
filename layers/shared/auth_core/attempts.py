"""The login-attempt budgets in the tokens table: `ATTEMPTS#<sha256 of the email>` for the account as a whole,
`ATTEMPTS#<sha256 of the email>#<device id>` for each known device (OWASP "device cookies": failures from elsewhere
never lock its owner out), and `ATTEMPTS#<sha256 of the email>#SES#<session id>` for the wrong current passwords of
password changes made with one session (the device idea applied to sessions: guesses made with a stolen access token
are bounded per session, and failed logins from elsewhere never keep a signed-in owner from changing the password).
Emails are hashed, so the table holds no addresses.

An attempt is counted before its password is checked, by one conditional write on the version the login read: two
concurrent attempts can't both be counted from the same state, so N parallel guesses get at most the free attempts
that remained (the loser re-reads the state DynamoDB returns with the failed condition and counts again, or is
refused because the winner's attempt locked the budget).
"""

from __future__ import annotations

import hashlib
import math
from typing import TYPE_CHECKING, cast

from botocore.exceptions import BotoCoreError, ClientError

from auth_core.dynamo import Item, error_code, n, read_n, s
from auth_core.errors import DependencyError, TooManyAttemptsError
from auth_core.throttle import FORGET_AFTER, LoginAttempts

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Counting retries only when another attempt on the same budget won the write; past this, the budget is contended
# hard enough (a burst of guesses) that refusing for a second is the right answer.
_COUNT_TRIES = 4


def attempts_key(email: str, device_id: str | None = None) -> dict[str, dict[str, str]]:
    name = "ATTEMPTS#" + hashlib.sha256(email.encode("utf-8")).hexdigest()
    return {"pk": s(name if device_id is None else f"{name}#{device_id}")}


def session_attempts_key(email: str, session_id: str) -> dict[str, dict[str, str]]:
    """The budget of one session's password changes (`#` never occurs in a device id, so the two never meet)."""
    return attempts_key(email, f"SES#{session_id}")


def to_attempts(item: Item | None) -> LoginAttempts:
    if not item:
        return LoginAttempts()
    return LoginAttempts(
        failures=int(read_n(item, "failures")),
        locked_until=read_n(item, "locked_until"),
        last_attempt_at=read_n(item, "last_attempt_at"),
        version=int(read_n(item, "version")),
    )


class AttemptsRepository:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def count(self, key: dict[str, dict[str, str]], seen: LoginAttempts, *, now: float) -> LoginAttempts:
        """Count one attempt on this budget (the state as counted), or TooManyAttemptsError while it is locked."""
        for _ in range(_COUNT_TRIES):
            wait = seen.retry_after(now)
            if wait > 0:
                raise TooManyAttemptsError(math.ceil(wait))
            counted = seen.after_one_more(now)
            condition = "attribute_not_exists(pk)" if seen.version == 0 else "version = :seen"
            values = {
                ":failures": n(counted.failures),
                ":lock": n(counted.locked_until),
                ":now": n(now),
                ":version": n(counted.version),
                ":exp": n(int(now + FORGET_AFTER)),
            }
            if seen.version:
                values[":seen"] = n(seen.version)
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="SET failures = :failures, locked_until = :lock, last_attempt_at = :now, "
                    "version = :version, expires_at = :exp",
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return counted
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise DependencyError() from exc
                # Another attempt was counted first: count after it, from the state the failed condition returned.
                seen = to_attempts(cast("Item | None", exc.response.get("Item")))
            except BotoCoreError as exc:
                raise DependencyError() from exc
        raise TooManyAttemptsError(1)

    def uncount(self, key: dict[str, dict[str, str]], *, counted: LoginAttempts, previous: LoginAttempts) -> None:
        """Take back an attempt that turned out to be no failure, if nothing was counted after it. Best effort: it
        runs after a failure of DynamoDB, which may well fail again (the attempt then stays counted)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET failures = :failures, locked_until = :lock, version = :version",
                ConditionExpression="version = :counted",
                ExpressionAttributeValues={
                    ":failures": n(previous.failures),
                    ":lock": n(previous.locked_until),
                    ":version": n(counted.version + 1),
                    ":counted": n(counted.version),
                },
            )
        except (ClientError, BotoCoreError):
            return

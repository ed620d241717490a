"""The tokens table: refresh sessions and the access-token denylist.

Items (partition key `pk`, DynamoDB TTL on `expires_at`; TTL deletes lazily, so code always compares expiry itself):
- `RT#<sha256 of the refresh token>`: one refresh token (only its hash is stored), its family, `active` or `rotated`.
- `FAM#<family id>`: one login session, `active` or `revoked`; revoking it ends every token of the session.
- `JTI#<access token jti>`: a denylisted access token, kept until the token's own expiry.
- `ATTEMPTS#<sha256 of the email>`: recent failed logins of one email (auth_core.throttle), forgotten after a day.
Every multi-item change is one transaction, so nothing is ever half-written.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from auth_core.dynamo import Item, cancellation_codes, dependency_call, n, read_n, read_s, s
from auth_core.errors import DependencyError, TokenRevokedError
from auth_core.users import to_record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from auth_core.records import UserRecord
from auth_core.throttle import FORGET_AFTER, LoginAttempts

ACTIVE, ROTATED, REVOKED = "active", "rotated", "revoked"
_BATCH_ATTEMPTS = 3


def attempts_key(email: str) -> dict[str, dict[str, str]]:
    # Hashed, so the tokens table holds no email addresses.
    return {"pk": s("ATTEMPTS#" + hashlib.sha256(email.encode("utf-8")).hexdigest())}


def token_hash(token: str) -> str:
    """What we store instead of a refresh token: a leaked table holds nothing usable."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class StoredToken:
    status: str
    rotated_at: float


@dataclass(frozen=True)
class RefreshState:
    """What a refresh needs to decide, read in one round trip."""

    token: StoredToken | None
    is_family_active: bool
    user: UserRecord | None


@dataclass(frozen=True)
class Successor:
    """A refresh token being replaced (`old_hash`) and the one replacing it, in the same family."""

    old_hash: str
    new_hash: str
    family_id: str
    user_id: str
    expires_at: int


class LostRaceError(Exception):
    """Another request rotated this refresh token first (it is now `rotated`)."""


class SessionsRepository:
    def __init__(self, client: DynamoDBClient, *, tokens_table: str, users_table: str) -> None:
        self._client = client
        self._tokens = tokens_table
        self._users = users_table

    def login_state(self, email: str) -> tuple[UserRecord | None, LoginAttempts]:
        """For a login, in one round trip: the user (with the password hash) and the email's recent failures."""
        items = self._batch_get(
            {
                self._users: {"Keys": [{"email": s(email)}], "ConsistentRead": True},
                self._tokens: {"Keys": [attempts_key(email)], "ConsistentRead": True},
            }
        )
        users, attempts = items.get(self._users, []), items.get(self._tokens, [])
        state = LoginAttempts()
        if attempts:
            item = attempts[0]
            state = LoginAttempts(
                failures=int(read_n(item, "failures")),
                locked_until=read_n(item, "locked_until"),
                last_failure_at=read_n(item, "last_failure_at"),
            )
        return (to_record(users[0]) if users else None), state

    def record_failure(self, email: str, attempts: LoginAttempts, *, now: float, locked_until: float) -> None:
        """Count one more failed login; the count is atomic, so parallel guesses are all counted."""
        values = {":one": n(1), ":lock": n(locked_until), ":now": n(now), ":exp": n(int(now + FORGET_AFTER))}
        if attempts.is_stale(now):
            count_expression = "failures = :one"
        else:
            count_expression, values[":zero"] = "failures = if_not_exists(failures, :zero) + :one", n(0)
        with dependency_call():
            self._client.update_item(
                TableName=self._tokens,
                Key=attempts_key(email),
                UpdateExpression=f"SET {count_expression}, "
                "locked_until = :lock, last_failure_at = :now, expires_at = :exp",
                ExpressionAttributeValues=values,
            )

    def start(
        self, *, refresh_hash: str, family_id: str, user_id: str, expires_at: int, reset_attempts_of: str | None = None
    ) -> None:
        """A new login session with its first refresh token (and, after failures, the failure count cleared)."""
        resets: list[Any] = []
        if reset_attempts_of is not None:
            resets.append({"Delete": {"TableName": self._tokens, "Key": attempts_key(reset_attempts_of)}})
        with dependency_call():
            self._client.transact_write_items(
                TransactItems=[
                    *resets,
                    {
                        "Put": {
                            "TableName": self._tokens,
                            "Item": self._family_item(family_id, user_id, expires_at),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._tokens,
                            "Item": self._token_item(refresh_hash, family_id, user_id, expires_at),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )

    def refresh_state(self, *, refresh_hash: str, family_id: str, email: str) -> RefreshState:
        token_key, family_key = {"pk": s(f"RT#{refresh_hash}")}, {"pk": s(f"FAM#{family_id}")}
        items = self._batch_get(
            {
                self._tokens: {"Keys": [token_key, family_key], "ConsistentRead": True},
                self._users: {
                    "Keys": [{"email": s(email)}],
                    "ConsistentRead": True,
                    "ProjectionExpression": "email, user_id, #r, #s, created_at, tokens_valid_after",
                    "ExpressionAttributeNames": {"#r": "role", "#s": "status"},
                },
            }
        )
        by_key = {read_s(item, "pk"): item for item in items.get(self._tokens, [])}
        token_item = by_key.get(f"RT#{refresh_hash}")
        family_item = by_key.get(f"FAM#{family_id}")
        users = items.get(self._users, [])
        return RefreshState(
            token=StoredToken(status=str(read_s(token_item, "status")), rotated_at=read_n(token_item, "rotated_at"))
            if token_item
            else None,
            is_family_active=family_item is not None and read_s(family_item, "status") == ACTIVE,
            user=to_record(users[0]) if users else None,
        )

    def rotate(self, successor: Successor, *, now: float) -> None:
        """Retire the presented token and store its successor, atomically; LostRaceError if another request won."""
        self._transact_successor(
            successor,
            {
                "Update": {
                    "TableName": self._tokens,
                    "Key": {"pk": s(f"RT#{successor.old_hash}")},
                    "UpdateExpression": "SET #s = :rotated, rotated_at = :now",
                    "ConditionExpression": "#s = :active",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":rotated": s(ROTATED), ":now": n(now), ":active": s(ACTIVE)},
                }
            },
        )

    def branch(self, successor: Successor, *, rotated_since: float) -> None:
        """Within the grace window, a second successor of a just-rotated token, in the same family (two tabs)."""
        self._transact_successor(
            successor,
            {
                "ConditionCheck": {
                    "TableName": self._tokens,
                    "Key": {"pk": s(f"RT#{successor.old_hash}")},
                    "ConditionExpression": "#s = :rotated AND rotated_at >= :since",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":rotated": s(ROTATED), ":since": n(rotated_since)},
                }
            },
        )

    def revoke_family(self, *, family_id: str, user_id: str, expires_at: int) -> None:
        with dependency_call():
            self._client.update_item(**self._revoke_family_update(family_id, user_id, expires_at))

    def end_session(self, *, family: tuple[str, str, int] | None, denied_jti: tuple[str, int] | None) -> None:
        """Logout: revoke the refresh family and denylist the access token, together."""
        writes: list[Any] = []
        if family is not None:
            writes.append({"Update": self._revoke_family_update(*family)})
        if denied_jti is not None:
            jti, expires_at = denied_jti
            writes.append(
                {"Put": {"TableName": self._tokens, "Item": {"pk": s(f"JTI#{jti}"), "expires_at": n(expires_at)}}}
            )
        if writes:
            with dependency_call():
                self._client.transact_write_items(TransactItems=writes)

    def access_state(self, *, jti: str, email: str) -> tuple[bool, UserRecord | None]:
        """For the authorizer, in one round trip: is this access token denylisted, and the user as stored now."""
        items = self._batch_get(
            {
                self._tokens: {
                    "Keys": [{"pk": s(f"JTI#{jti}")}],
                    "ConsistentRead": True,
                    "ProjectionExpression": "pk, expires_at",
                },
                self._users: {
                    "Keys": [{"email": s(email)}],
                    "ConsistentRead": True,
                    "ProjectionExpression": "email, user_id, #r, #s, created_at, tokens_valid_after",
                    "ExpressionAttributeNames": {"#r": "role", "#s": "status"},
                },
            }
        )
        users = items.get(self._users, [])
        return bool(items.get(self._tokens)), to_record(users[0]) if users else None

    def _transact_successor(self, successor: Successor, guard: dict[str, Any]) -> None:
        """The guard on the old token, the family still active (its expiry slides), the new token: all or nothing."""
        writes: list[Any] = [
            guard,
            {
                "Update": {
                    "TableName": self._tokens,
                    "Key": {"pk": s(f"FAM#{successor.family_id}")},
                    "UpdateExpression": "SET expires_at = :exp",
                    "ConditionExpression": "#s = :active",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":exp": n(successor.expires_at), ":active": s(ACTIVE)},
                }
            },
            {
                "Put": {
                    "TableName": self._tokens,
                    "Item": self._token_item(
                        successor.new_hash, successor.family_id, successor.user_id, successor.expires_at
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise LostRaceError() from exc
            if codes[1:2] == ["ConditionalCheckFailed"]:
                raise TokenRevokedError() from exc  # the family was revoked meanwhile (logout, reuse elsewhere)
            raise DependencyError() from exc
        except BotoCoreError as exc:
            raise DependencyError() from exc

    def _revoke_family_update(self, family_id: str, user_id: str, expires_at: int) -> dict[str, Any]:
        return {
            "TableName": self._tokens,
            "Key": {"pk": s(f"FAM#{family_id}")},
            "UpdateExpression": "SET #s = :revoked, user_id = :uid, expires_at = :exp",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":revoked": s(REVOKED), ":uid": s(user_id), ":exp": n(expires_at)},
        }

    def _family_item(self, family_id: str, user_id: str, expires_at: int) -> Item:
        return {"pk": s(f"FAM#{family_id}"), "user_id": s(user_id), "status": s(ACTIVE), "expires_at": n(expires_at)}

    def _token_item(self, token_hash_: str, family_id: str, user_id: str, expires_at: int) -> Item:
        return {
            "pk": s(f"RT#{token_hash_}"),
            "family_id": s(family_id),
            "user_id": s(user_id),
            "status": s(ACTIVE),
            "expires_at": n(expires_at),
        }

    def _batch_get(self, request: dict[str, Any]) -> dict[str, list[Item]]:
        """BatchGetItem, retrying what DynamoDB left unprocessed (under throttling) a few times before giving up."""
        found: dict[str, list[Item]] = {}
        for attempt in range(_BATCH_ATTEMPTS):
            with dependency_call():
                response = self._client.batch_get_item(RequestItems=request)
            for table, items in response.get("Responses", {}).items():
                found.setdefault(table, []).extend(items)
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                return found
            time.sleep(0.02 * 2**attempt)
        raise DependencyError()

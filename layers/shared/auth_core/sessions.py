"""The tokens table's sessions and access-token denylist, and the reads that combine them with the user.

Items (partition key `pk`, DynamoDB TTL on `expires_at`; TTL deletes lazily, so code always compares expiry itself):
- `SES#<session id>`: one login session. It holds the hash of its one live refresh token (`current_hash`) and of the
  one rotated out last (`previous_hash`, with `rotated_at`), so "exactly one live refresh token" is one conditional
  write on this item. `active` or `revoked`; `expires_at` is the idle expiry, capped by `absolute_expires_at`.
- `JTI#<access token jti>`: the access-token denylist (auth_core.denylist), written with the session it ends.
- `ATTEMPTS#...`: login-attempt budgets (auth_core.attempts).
- `SIGNING_KEYS`: the registry of access-token signing keys (auth_core.signing_keys), read here with whatever else
  a login, a refresh or the authorizer reads, so it costs no round trip of its own.
Every multi-item change is one transaction, so nothing is ever half-written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from auth_core.attempts import attempts_key, session_attempts_key, to_attempts
from auth_core.denylist import denylist_item, denylist_key
from auth_core.dynamo import Item, cancellation_codes, dependency_call, n, read_n, read_s, s
from auth_core.errors import DependencyError, InvalidCredentialsError, NotFoundError, TokenRevokedError
from auth_core.signing_keys import (
    REGISTRY_ATTRIBUTES,
    REGISTRY_PK,
    KeySet,
    RegistryChangedError,
    registry_key,
    to_key_set,
)
from auth_core.users import to_record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from auth_core.records import UserRecord
    from auth_core.throttle import LoginAttempts

ACTIVE, REVOKED = "active", "revoked"
_BATCH_ATTEMPTS = 3
# What the authorizer and a refresh need of the user: never the password hash.
_USER_PROJECTION = "email, user_id, #r, #s, created_at, tokens_valid_after, kept_session"
# The sparse index of sessions by user (only SES# items carry `user_id`): it projects what a session list shows,
# never a token hash.
BY_USER_INDEX = "user_id-created_at-index"
_USER_NAMES = {"#r": "role", "#s": "status"}


def session_key(session_id: str) -> dict[str, dict[str, str]]:
    return {"pk": s(f"SES#{session_id}")}


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str
    status: str
    created_at: float
    absolute_expires_at: float
    expires_at: float
    current_hash: str = ""
    previous_hash: str = ""
    rotated_at: float = 0.0
    last_used_at: float = 0.0
    user_agent: str = ""
    ip: str = ""

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE

    def is_revoked_for(self, user: UserRecord | None) -> bool:
        """Ended: revoked, the user gone, disabled or another one, or begun at or before a sign-out-everywhere."""
        return (
            not self.is_active
            or user is None
            or user.id != self.user_id
            or not user.is_active
            or (self.created_at <= user.tokens_valid_after and self.id != user.kept_session)
        )

    def is_live_for(self, user: UserRecord | None, now: float) -> bool:
        """Usable now: not ended (see is_revoked_for), neither idle nor at its maximum lifetime."""
        return not self.is_revoked_for(user) and now < self.expires_at and now < self.absolute_expires_at


@dataclass(frozen=True)
class NewSession:
    id: str
    user_id: str
    email: str
    refresh_hash: str
    created_at: float
    expires_at: float
    absolute_expires_at: float
    user_agent: str
    ip: str


def to_session(item: Item) -> Session:
    return Session(
        id=str(read_s(item, "pk", "")).removeprefix("SES#"),
        user_id=str(read_s(item, "user_id", "")),
        status=str(read_s(item, "status", REVOKED)),
        created_at=read_n(item, "created_at"),
        absolute_expires_at=read_n(item, "absolute_expires_at"),
        expires_at=read_n(item, "expires_at"),
        current_hash=str(read_s(item, "current_hash", "")),
        previous_hash=str(read_s(item, "previous_hash", "")),
        rotated_at=read_n(item, "rotated_at"),
        last_used_at=read_n(item, "last_used_at"),
        user_agent=str(read_s(item, "user_agent", "")),
        ip=str(read_s(item, "ip", "")),
    )


class LostRaceError(Exception):
    """Another request rotated this session's token (or ended the session) between our read and our write."""


class SessionsRepository:
    def __init__(self, client: DynamoDBClient, *, tokens_table: str, users_table: str) -> None:
        self._client = client
        self._tokens = tokens_table
        self._users = users_table

    def login_state(self, email: str, device_id: str | None) -> tuple[UserRecord | None, LoginAttempts, KeySet]:
        """For a login, in one round trip: the user (with the password hash), the budget the attempt counts on, and
        the signing-key registry."""
        items = self._batch_get(
            {
                self._users: {"Keys": [{"email": s(email)}], "ConsistentRead": True},
                self._tokens: {"Keys": [attempts_key(email, device_id), registry_key()], "ConsistentRead": True},
            }
        )
        users, (by_key, key_set) = items.get(self._users, []), self._with_key_set(items)
        attempts = by_key.get(read_s(attempts_key(email, device_id), "pk"))
        return (to_record(users[0]) if users else None), to_attempts(attempts), key_set

    def start(
        self,
        session: NewSession,
        *,
        spent_budget: dict[str, dict[str, str]],
        counted_version: int,
        password_hash: str,
    ) -> None:
        """A new session with its first refresh token; the login-attempt budget that let it in starts afresh, unless
        other attempts were counted on it while this one checked its password (their failures and lock stand).
        Only while `password_hash` (the one the login checked) is still the user's: a password change or reset that
        lands while this login is in flight wins (InvalidCredentialsError), or the old password would open a session
        after the change."""
        item = {
            **session_key(session.id),
            "user_id": s(session.user_id),
            "email": s(session.email),
            "status": s(ACTIVE),
            "current_hash": s(session.refresh_hash),
            "created_at": n(session.created_at),
            "last_used_at": n(session.created_at),
            "expires_at": n(int(session.expires_at)),
            "absolute_expires_at": n(int(session.absolute_expires_at)),
            "user_agent": s(session.user_agent),
            "ip": s(session.ip),
        }
        put: Any = {
            "TableName": self._tokens,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        reset: Any = {
            "TableName": self._tokens,
            "Key": spent_budget,
            "ConditionExpression": "version = :counted",
            "ExpressionAttributeValues": {":counted": n(counted_version)},
        }
        same_password: Any = {
            "TableName": self._users,
            "Key": {"email": s(session.email)},
            "ConditionExpression": "user_id = :uid AND password_hash = :hash",
            "ExpressionAttributeValues": {":uid": s(session.user_id), ":hash": s(password_hash)},
        }
        check: Any = {"ConditionCheck": same_password}
        try:
            self._client.transact_write_items(TransactItems=[{"Delete": reset}, {"Put": put}, check])
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if codes[2:3] == ["ConditionalCheckFailed"]:
                raise InvalidCredentialsError() from exc
            if codes[:1] != ["ConditionalCheckFailed"]:
                raise DependencyError() from exc
            self._start_alone(put, check)  # counted on meanwhile: the session alone
        except BotoCoreError as exc:
            raise DependencyError() from exc

    def _start_alone(self, put: Any, check: Any) -> None:
        try:
            self._client.transact_write_items(TransactItems=[{"Put": put}, check])
        except ClientError as exc:
            if cancellation_codes(exc)[1:2] == ["ConditionalCheckFailed"]:
                raise InvalidCredentialsError() from exc
            raise DependencyError() from exc
        except BotoCoreError as exc:
            raise DependencyError() from exc

    def change_state(self, email: str, session_id: str) -> tuple[UserRecord | None, LoginAttempts, Session | None]:
        """For a password change, in one round trip: the user (with the password hash), the attempt budget of the
        session the change keeps, and that session."""
        budget = session_attempts_key(email, session_id)
        items = self._batch_get(
            {
                self._users: {"Keys": [{"email": s(email)}], "ConsistentRead": True},
                self._tokens: {"Keys": [budget, session_key(session_id)], "ConsistentRead": True},
            }
        )
        users = items.get(self._users, [])
        by_key = {read_s(item, "pk"): item for item in items.get(self._tokens, [])}
        session = by_key.get(f"SES#{session_id}")
        return (
            to_record(users[0]) if users else None,
            to_attempts(by_key.get(read_s(budget, "pk"))),
            to_session(session) if session else None,
        )

    def refresh_state(self, *, session_id: str, email: str) -> tuple[Session | None, UserRecord | None, KeySet]:
        """For a refresh, in one round trip: the session and its user as stored now, and the signing-key registry."""
        items = self._batch_get(
            {
                self._tokens: {"Keys": [session_key(session_id), registry_key()], "ConsistentRead": True},
                self._users: self._user_read(email),
            }
        )
        users, (by_key, key_set) = items.get(self._users, []), self._with_key_set(items)
        session = by_key.get(f"SES#{session_id}")
        return (to_session(session) if session else None), (to_record(users[0]) if users else None), key_set

    def rotate(self, session: Session, *, email: str, new_hash: str, now: float, expires_at: float) -> None:
        """Make `new_hash` the session's live token, if the token we read is still the live one (else LostRaceError)
        and the user still may hold a session begun then (else TokenRevokedError): a logout-all, a disable or a
        password change or reset that lands while this refresh is in flight wins (CONTRACT.md); a password change
        exempts the one session it kept."""
        writes: list[Any] = [
            {
                "Update": {
                    "TableName": self._tokens,
                    "Key": session_key(session.id),
                    "UpdateExpression": "SET current_hash = :new, previous_hash = :old, rotated_at = :now, "
                    "last_used_at = :now, expires_at = :exp",
                    "ConditionExpression": "#s = :active AND current_hash = :old",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {
                        ":new": s(new_hash),
                        ":old": s(session.current_hash),
                        ":now": n(now),
                        ":exp": n(int(expires_at)),
                        ":active": s(ACTIVE),
                    },
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self._users,
                    "Key": {"email": s(email)},
                    "ConditionExpression": "user_id = :uid AND #s = :active AND "
                    "(tokens_valid_after < :created OR kept_session = :sid)",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {
                        ":uid": s(session.user_id),
                        ":active": s(ACTIVE),
                        ":created": n(session.created_at),
                        ":sid": s(session.id),
                    },
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
                raise TokenRevokedError() from exc
            raise DependencyError() from exc
        except BotoCoreError as exc:
            raise DependencyError() from exc

    def end(
        self,
        *,
        session_ids: set[str],
        denied: tuple[str, float] | None = None,
        now: float,
        registry_version: int | None = None,
    ) -> None:
        """End these sessions (their refresh and access tokens) and denylist one access token `(jti, until)`,
        together. Idempotent: ending an ended (or long expired) session changes nothing that matters.

        With `registry_version`, only while the signing-key registry is still that version (the one that trusted the
        access token naming a session here; else RegistryChangedError and nothing written): a ConditionCheck in the
        same transaction, so a key an emergency rotation dropped ends nothing, at no extra round trip."""
        writes: list[Any] = [{"Update": self._end_update(session_id, now)} for session_id in sorted(session_ids)]
        if denied is not None:
            jti, until = denied
            writes.append({"Put": {"TableName": self._tokens, "Item": denylist_item(jti, until=until)}})
        if not writes:
            return
        if registry_version is not None:
            unchanged = {
                "TableName": self._tokens,
                "Key": registry_key(),
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": n(registry_version)},
            }
            writes.append({"ConditionCheck": unchanged})
        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if registry_version is not None and cancellation_codes(exc)[-1:] == ["ConditionalCheckFailed"]:
                raise RegistryChangedError() from exc
            raise DependencyError() from exc
        except BotoCoreError as exc:
            raise DependencyError() from exc

    def access_state(
        self, *, jti: str, session_id: str, email: str
    ) -> tuple[bool, Session | None, UserRecord | None, KeySet]:
        """For the authorizer, in one round trip: is this access token denylisted, its session, the user, and the
        signing-key registry (so a key an emergency rotation dropped is refused at the next request)."""
        items = self._batch_get(
            {
                self._tokens: {
                    "Keys": [denylist_key(jti), session_key(session_id), registry_key()],
                    "ConsistentRead": True,
                    "ProjectionExpression": "pk, user_id, #s, created_at, absolute_expires_at, expires_at, "
                    + ", ".join(REGISTRY_ATTRIBUTES),
                    "ExpressionAttributeNames": {"#s": "status"},
                },
                self._users: self._user_read(email),
            }
        )
        (by_key, key_set), users = self._with_key_set(items), items.get(self._users, [])
        session_item = by_key.get(f"SES#{session_id}")
        return (
            read_s(denylist_key(jti), "pk") in by_key,
            to_session(session_item) if session_item else None,
            to_record(users[0]) if users else None,
            key_set,
        )

    def list_live(self, user: UserRecord, *, now: float, limit: int) -> list[Session]:
        """The user's live sessions, newest first (at most `limit`), from the sparse index of sessions by user."""
        kwargs: dict[str, Any] = {
            "TableName": self._tokens,
            "IndexName": BY_USER_INDEX,
            "KeyConditionExpression": "user_id = :uid",
            "ExpressionAttributeValues": {":uid": s(user.id)},
            "ScanIndexForward": False,
        }
        live: list[Session] = []
        while len(live) < limit:
            with dependency_call():
                response = self._client.query(**kwargs)
            sessions = (to_session(item) for item in response.get("Items", []))
            live.extend(session for session in sessions if session.is_live_for(user, now))
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return live[:limit]

    def end_own(self, *, session_id: str, user_id: str, email: str, now: float) -> None:
        """End one live session of this user (its refresh and access tokens); NotFoundError when it is not one: an
        ended session, another user's or an unknown id alike (one read, one conditional write)."""
        session, user, _ = self.refresh_state(session_id=session_id, email=email)
        if session is None or session.user_id != user_id or not session.is_live_for(user, now):
            raise NotFoundError("You have no live session with this id.")
        update = self._end_update(session_id, now)
        update["ConditionExpression"] = "user_id = :uid AND #s = :active"
        update["ExpressionAttributeValues"] |= {":uid": s(user_id), ":active": s(ACTIVE)}
        with dependency_call(on_condition_failed=lambda: NotFoundError("You have no live session with this id.")):
            self._client.update_item(**update)

    def _with_key_set(self, items: dict[str, list[Item]]) -> tuple[dict[str | None, Item], KeySet]:
        """The tokens-table items of a batch read by key, and the signing-key registry among them."""
        by_key = {read_s(item, "pk"): item for item in items.get(self._tokens, [])}
        return by_key, to_key_set(by_key.pop(REGISTRY_PK, None))

    def _end_update(self, session_id: str, now: float) -> dict[str, Any]:
        # if_not_exists: a session already deleted by TTL comes back only as a short-lived tombstone.
        return {
            "TableName": self._tokens,
            "Key": session_key(session_id),
            "UpdateExpression": "SET #s = :revoked, ended_at = if_not_exists(ended_at, :now), "
            "expires_at = if_not_exists(expires_at, :exp)",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":revoked": s(REVOKED), ":now": n(now), ":exp": n(int(now) + 86_400)},
        }

    def _user_read(self, email: str) -> dict[str, Any]:
        return {
            "Keys": [{"email": s(email)}],
            "ConsistentRead": True,
            "ProjectionExpression": _USER_PROJECTION,
            "ExpressionAttributeNames": _USER_NAMES,
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

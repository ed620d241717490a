"""The users table: one item per user keyed by the normalized email (so uniqueness is a conditional write), and the
`user_id-index` GSI for lookups by id (it never projects the password hash).

The index finds the email; what a User shows is then read from the table with `_SHOWN` (never the hash). DynamoDB
can't change an existing index's projection, so attributes added later (`email_verified`) are read there, and a
deployed stack upgrades in place."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from auth_core.cursors import invalid_cursor
from auth_core.dynamo import Item, cancellation_codes, dependency_call, n, read_n, read_s, s
from auth_core.errors import DependencyError, EmailTakenError, NotFoundError, TokenRevokedError
from auth_core.records import Role, Status, UserRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from auth_core.cursors import CursorCodec

ID_INDEX = "user_id-index"
_BATCH_ATTEMPTS = 3
_SHOWN = "email, user_id, #r, #s, created_at, tokens_valid_after, email_verified"
_SHOWN_NAMES = {"#r": "role", "#s": "status"}


def to_record(item: Item) -> UserRecord:
    return UserRecord(
        id=cast("str", read_s(item, "user_id")),
        email=cast("str", read_s(item, "email")),
        role=cast("Role", read_s(item, "role")),
        status=cast("Status", read_s(item, "status")),
        created_at=cast("str", read_s(item, "created_at")),
        tokens_valid_after=read_n(item, "tokens_valid_after"),
        email_verified=bool(item.get("email_verified", {"BOOL": True})["BOOL"]),
        kept_session=str(read_s(item, "kept_session", "")),
        password_hash=read_s(item, "password_hash"),
    )


def start_key(position: Any) -> Item:
    """The index key a scan resumes after: exactly `{"email": {"S": ...}, "user_id": {"S": ...}}`, nothing else, even
    from a cursor that opened with our key (what a scan accepts as ExclusiveStartKey is never left to a client)."""
    if not isinstance(position, dict) or set(position) != {"email", "user_id"}:
        raise invalid_cursor()
    if not all(
        isinstance(value, dict) and set(value) == {"S"} and isinstance(value["S"], str) for value in position.values()
    ):
        raise invalid_cursor()
    return cast("Item", position)


class UsersRepository:
    def __init__(self, client: DynamoDBClient, table_name: str, *, cursors: CursorCodec) -> None:
        self._client = client
        self._table = table_name
        self._cursors = cursors

    def create(self, user: UserRecord, *, with_item: tuple[str, Item] | None = None) -> None:
        """Store a new user; EmailTakenError when the email is already registered (one conditional write).
        `with_item` (table, item) is written in the same transaction: a new account and its verification link."""
        assert user.password_hash is not None
        item = {
            "email": s(user.email),
            "user_id": s(user.id),
            "password_hash": s(user.password_hash),
            "role": s(user.role),
            "status": s(user.status),
            "created_at": s(user.created_at),
            "tokens_valid_after": n(user.tokens_valid_after),
            "email_verified": {"BOOL": user.email_verified},
        }
        put: Any = {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(email)"}
        if with_item is None:
            with dependency_call(on_condition_failed=EmailTakenError):
                self._client.put_item(**put)
            return
        table, extra = with_item
        link: Any = {"TableName": table, "Item": extra}
        try:
            self._client.transact_write_items(TransactItems=[{"Put": put}, {"Put": link}])
        except ClientError as exc:
            if cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]:
                raise EmailTakenError() from exc
            raise DependencyError() from exc
        except BotoCoreError as exc:
            raise DependencyError() from exc

    def get_by_email(self, email: str) -> UserRecord | None:
        with dependency_call():
            response = self._client.get_item(TableName=self._table, Key={"email": s(email)}, ConsistentRead=True)
        item = response.get("Item")
        return to_record(item) if item else None

    def get_by_id(self, user_id: str) -> UserRecord:
        with dependency_call():
            response = self._client.query(
                TableName=self._table,
                IndexName=ID_INDEX,
                KeyConditionExpression="user_id = :id",
                ExpressionAttributeValues={":id": s(user_id)},
                ProjectionExpression="email",
                Limit=1,
            )
        items = response.get("Items", [])
        user = self.shown(cast("str", read_s(items[0], "email"))) if items else None
        if user is None or user.id != user_id:
            raise NotFoundError("No user has this id.")
        return user

    def shown(self, email: str) -> UserRecord | None:
        """The user as a response shows it (a consistent read, without the password hash)."""
        with dependency_call():
            response = self._client.get_item(
                TableName=self._table,
                Key={"email": s(email)},
                ConsistentRead=True,
                ProjectionExpression=_SHOWN,
                ExpressionAttributeNames=_SHOWN_NAMES,
            )
        item = response.get("Item")
        return to_record(item) if item else None

    def list(self, *, limit: int, cursor: str | None) -> tuple[list[UserRecord], str | None]:
        """One page of users, and the cursor of the next page (None on the last one). The cursor is the index key the
        scan stopped at, sealed (auth_core.cursors): clients never see or choose a table key."""
        kwargs: dict[str, Any] = {"TableName": self._table, "IndexName": ID_INDEX, "Limit": limit}
        if cursor:
            kwargs["ExclusiveStartKey"] = start_key(self._cursors.open(cursor))
        with dependency_call():
            response = self._client.scan(**kwargs)
        last_key = response.get("LastEvaluatedKey")
        next_cursor = self._cursors.seal(last_key) if last_key else None
        emails = [cast("str", read_s(item, "email")) for item in response.get("Items", [])]
        return self._shown_many(emails), next_cursor

    def _shown_many(self, emails: builtins.list[str]) -> builtins.list[UserRecord]:
        """The users of one page, read from the table in one BatchGetItem (a page is at most 100 keys), in order."""
        if not emails:
            return []
        request: dict[str, Any] = {
            self._table: {
                "Keys": [{"email": s(email)} for email in emails],
                "ProjectionExpression": _SHOWN,
                "ExpressionAttributeNames": _SHOWN_NAMES,
                "ConsistentRead": True,
            }
        }
        found: dict[str, UserRecord] = {}
        for _ in range(_BATCH_ATTEMPTS):
            with dependency_call():
                response = self._client.batch_get_item(RequestItems=request)
            found |= {user.email: user for user in map(to_record, response.get("Responses", {}).get(self._table, []))}
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return [found[email] for email in emails if email in found]
        raise DependencyError()

    def update(
        self,
        *,
        email: str,
        user_id: str,
        role: Role | None = None,
        status: Status | None = None,
        tokens_valid_after: float | None = None,
    ) -> UserRecord:
        """Change some of a user's fields; the condition on the id makes sure the email still belongs to this user."""
        changes = {"role": role, "status": status, "tokens_valid_after": tokens_valid_after}
        names, values, sets = {}, {":id": s(user_id)}, []
        for index, (name, value) in enumerate((k, v) for k, v in changes.items() if v is not None):
            names[f"#f{index}"] = name
            values[f":v{index}"] = n(value) if isinstance(value, float | int) else s(value)
            sets.append(f"#f{index} = :v{index}")
        # A new sign-out-everywhere instant exempts no session, whatever a password change kept before.
        removal = " REMOVE kept_session" if tokens_valid_after is not None else ""
        with dependency_call(on_condition_failed=lambda: NotFoundError("No user has this id.")):
            response = self._client.update_item(
                TableName=self._table,
                Key={"email": s(email)},
                UpdateExpression="SET " + ", ".join(sets) + removal,
                ConditionExpression="user_id = :id",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        return to_record(response["Attributes"])

    def verified_update(self, *, email: str, user_id: str) -> dict[str, Any]:
        """The write that marks the email verified (in the transaction that spends a verification link)."""
        return {
            "TableName": self._table,
            "Key": {"email": s(email)},
            "UpdateExpression": "SET email_verified = :true",
            "ConditionExpression": "user_id = :id",
            "ExpressionAttributeValues": {":true": {"BOOL": True}, ":id": s(user_id)},
        }

    def reset_update(self, *, email: str, user_id: str, password_hash: str, now: float, issued_at: float) -> Any:
        """The write of a password reset: the new hash, every token issued at or before `now` refused (no session
        kept), the email verified (the link proved the mailbox). Only for a link issued after the last reset: a reset
        spends every older link at once. A password change spends none: a reset link proves control of the mailbox,
        which a change (a password and a session, perhaps a thief's) doesn't, so a thief changing the password again
        and again can't kill the owner's links."""
        return {
            "TableName": self._table,
            "Key": {"email": s(email)},
            "UpdateExpression": "SET password_hash = :hash, tokens_valid_after = :now, password_changed_at = :now, "
            "password_reset_at = :now, email_verified = :true REMOVE kept_session",
            "ConditionExpression": "user_id = :id AND (attribute_not_exists(password_reset_at) OR "
            "password_reset_at < :issued)",
            "ExpressionAttributeValues": {
                ":hash": s(password_hash),
                ":now": n(now),
                ":true": {"BOOL": True},
                ":id": s(user_id),
                ":issued": n(issued_at),
            },
        }

    def change_password(
        self,
        *,
        email: str,
        user_id: str,
        old_hash: str,
        new_hash: str,
        now: float,
        kept_session: str,
        valid_after: float,
    ) -> None:
        """A password change: the new hash, if the old one is still current and no sign-out-everywhere came since
        `valid_after` was read (else TokenRevokedError: another change, a reset, a logout-all or a disable won, and
        each of them ended the session to keep); every token issued at or before `now` is refused except those of
        `kept_session`, the caller's (one write, so a refresh or login in flight on another session cannot slip
        between two)."""
        with dependency_call(on_condition_failed=TokenRevokedError):
            self._client.update_item(
                TableName=self._table,
                Key={"email": s(email)},
                UpdateExpression="SET password_hash = :new, tokens_valid_after = :now, password_changed_at = :now, "
                "kept_session = :sid",
                ConditionExpression="user_id = :id AND password_hash = :old AND #s = :active AND "
                "(tokens_valid_after = :after OR attribute_not_exists(tokens_valid_after))",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":new": s(new_hash),
                    ":now": n(now),
                    ":sid": s(kept_session),
                    ":id": s(user_id),
                    ":old": s(old_hash),
                    ":active": s("active"),
                    ":after": n(valid_after),
                },
            )

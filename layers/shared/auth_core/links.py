"""The single-use tokens of emailed links (CONTRACT.md "Emailed links"): email verification and password reset.

A token is `<selector>.<verifier>`: the selector (128 random bits) names the item `LINK#<selector>` in the tokens
table, the verifier (256 random bits, `secrets.token_urlsafe(32)`) is stored only as its SHA-256 and compared in
constant time (the "split token" pattern: a lookup by the secret itself would be a comparison DynamoDB does in
variable time). The item has a TTL and names its purpose, its user and when it was issued. Spending a link deletes
its item in the same transaction as the change it makes, on the condition that the item is still there, unexpired and
holds this verifier: of two concurrent uses exactly one succeeds (OWASP Forgot Password Cheat Sheet, "URL tokens").
Link items carry `owner_id`, not `user_id`, so the sparse index of sessions by user never sees them.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from auth_core.dynamo import Item, cancellation_codes, dependency_call, n, read_n, read_s, s
from auth_core.errors import DependencyError, InvalidLinkError
from auth_core.refresh_tokens import token_hash
from auth_core.tokens import new_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Purpose = Literal["verify", "reset"]
VERIFY_TTL = 24 * 3600
RESET_TTL = 30 * 60
_TOKEN = re.compile(r"([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class Link:
    selector: str
    purpose: Purpose
    user_id: str
    email: str
    issued_at: float
    expires_at: float
    verifier_hash: str


class LinksRepository:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    @property
    def table(self) -> str:
        return self._table

    def new(self, *, purpose: Purpose, user_id: str, email: str, now: float) -> tuple[str, Item]:
        """A fresh token and the item that stores its hash (written by the caller, alone or in a transaction)."""
        selector, verifier = new_id(), secrets.token_urlsafe(32)
        ttl = VERIFY_TTL if purpose == "verify" else RESET_TTL
        item = {
            "pk": s(f"LINK#{selector}"),
            "purpose": s(purpose),
            "owner_id": s(user_id),
            "email": s(email),
            "verifier_hash": s(token_hash(verifier)),
            # To the millisecond, as a reset stores its instant: rounding both the same (monotone) way makes a link
            # issued before a reset never compare as issued after it (users.reset_update).
            "issued_at": n(round(now, 3)),
            "expires_at": n(int(now + ttl)),
        }
        return f"{selector}.{verifier}", item

    def put(self, item: Item) -> None:
        with dependency_call():
            self._client.put_item(TableName=self._table, Item=item)

    def find(self, token: str, *, purpose: Purpose, now: float) -> Link:
        """The unspent, unexpired link of this purpose the token opens; InvalidLinkError for anything else."""
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise InvalidLinkError()
        selector, verifier = match.groups()
        with dependency_call():
            response = self._client.get_item(
                TableName=self._table, Key={"pk": s(f"LINK#{selector}")}, ConsistentRead=True
            )
        item = response.get("Item")
        if item is None:
            raise InvalidLinkError()
        link = Link(
            selector=selector,
            purpose="verify" if read_s(item, "purpose") == "verify" else "reset",
            user_id=str(read_s(item, "owner_id", "")),
            email=str(read_s(item, "email", "")),
            issued_at=read_n(item, "issued_at"),
            expires_at=read_n(item, "expires_at"),
            verifier_hash=str(read_s(item, "verifier_hash", "")),
        )
        is_match = hmac.compare_digest(link.verifier_hash, token_hash(verifier))
        if not is_match or read_s(item, "purpose") != purpose or now >= link.expires_at:
            raise InvalidLinkError()
        return link

    def spend(self, link: Link, *, now: float, change: Any) -> None:
        """Delete the link and apply `change` (an Update of the users table) in one transaction; InvalidLinkError
        when the link was spent meanwhile or `change`'s condition fails (the account is gone, or changed since)."""
        delete: Any = {
            "TableName": self._table,
            "Key": {"pk": s(f"LINK#{link.selector}")},
            "ConditionExpression": "verifier_hash = :hash AND expires_at > :now",
            "ExpressionAttributeValues": {":hash": s(link.verifier_hash), ":now": n(int(now))},
        }
        try:
            self._client.transact_write_items(TransactItems=[{"Delete": delete}, {"Update": change}])
        except ClientError as exc:
            if "ConditionalCheckFailed" in cancellation_codes(exc):
                raise InvalidLinkError() from exc
            raise DependencyError() from exc
        except BotoCoreError as exc:
            raise DependencyError() from exc

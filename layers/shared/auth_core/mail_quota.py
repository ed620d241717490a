"""How many mails forgot and resend may send to one address (CONTRACT.md "Emailed links"): at most one in any 60 s
and five in any hour, sliding windows. `MAILS#<sha256 of the email>` in the tokens table keeps the send times of the
last hour (the address itself is never stored) and a version: a send is recorded by one conditional write on the
version read, so two concurrent requests can't both take the last place."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from auth_core.dynamo import dependency_call, error_code, n, read_n, s
from auth_core.errors import DependencyError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MIN_INTERVAL = 60
HOUR = 3600
PER_HOUR = 5


def quota_key(email: str) -> dict[str, dict[str, str]]:
    return {"pk": s("MAILS#" + hashlib.sha256(email.encode("utf-8")).hexdigest())}


def may_send(sent: list[float], now: float) -> bool:
    recent = [at for at in sent if now - at < HOUR]
    return len(recent) < PER_HOUR and all(now - at >= MIN_INTERVAL for at in recent)


class MailQuota:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def take(self, email: str, *, now: float) -> bool:
        """Record one mail to this address now, if its windows allow one; False (nothing written) otherwise, or when
        a concurrent request took the place first."""
        key = quota_key(email)
        with dependency_call():
            item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item") or {}
        sent = [float(value["N"]) for value in item.get("sent", {}).get("L", [])]
        if not may_send(sent, now):
            return False
        version = int(read_n(item, "version"))
        kept = [at for at in sent if now - at < HOUR] + [now]
        condition = "version = :seen" if version else "attribute_not_exists(pk)"
        values: dict[str, Any] = {
            ":sent": {"L": [n(at) for at in kept]},
            ":version": n(version + 1),
            ":exp": n(int(now + HOUR)),
        }
        if version:
            values[":seen"] = n(version)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET sent = :sent, version = :version, expires_at = :exp",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False  # another request recorded a mail first: this one sends none
            raise DependencyError() from exc
        except BotoCoreError as exc:
            raise DependencyError() from exc
        return True

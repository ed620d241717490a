"""The registry of the keys that sign access tokens: one small item of the tokens table (`pk = SIGNING_KEYS`).

Each entry names a KMS key (its ARN), its public JWK, its `kid` (the JWK's RFC 7638 thumbprint) and its status:
- `current`: the one key the issuing functions sign with;
- `previous`: rotated out; tokens it signed still verify until `verify_until` (the rotation, plus the access-token
  lifetime, the clock leeway and a request in flight), then it leaves the JWKS and is retired (its KMS key scheduled
  for deletion, its entry dropped).
An emergency rotation drops every other entry at once. The rotation writes the item (a conditional write on its
`version`); the issuers and the authorizer read it in the BatchGetItem they make anyway, logout makes its version a
condition of its transaction, so no request pays an extra round trip, and a key dropped from the registry is refused by
every authorizer and logout at its next request. The JWKS function reads it at every request (auth_core.discovery).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from auth_core.dynamo import Item, dependency_call, n, read_n, read_s, s
from auth_core.errors import DependencyError, ServiceError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REGISTRY_PK = "SIGNING_KEYS"
CURRENT, PREVIOUS = "current", "previous"
# What a reader projects of the registry item (the authorizer reads it beside sessions and denylist entries).
REGISTRY_ATTRIBUTES = ("key_set", "version")


def registry_key() -> dict[str, dict[str, str]]:
    return {"pk": s(REGISTRY_PK)}


@dataclass(frozen=True)
class KeyEntry:
    kid: str
    key_id: str  # the KMS key's ARN
    jwk: dict[str, str]  # the public JWK as published: kty, crv, x, y, kid, alg, use
    status: str
    created_at: float
    verify_until: float | None = None  # set when the key stops being current

    def verifies_at(self, now: float) -> bool:
        """Whether tokens this key signed are still accepted (and the key published) at `now`."""
        if self.status == CURRENT:
            return True
        return self.status == PREVIOUS and self.verify_until is not None and now < self.verify_until


@dataclass(frozen=True)
class KeySet:
    keys: tuple[KeyEntry, ...] = ()
    version: int = 0  # 0: no registry item yet

    @property
    def current(self) -> KeyEntry | None:
        return next((key for key in self.keys if key.status == CURRENT), None)

    def find(self, kid: str) -> KeyEntry | None:
        return next((key for key in self.keys if key.kid == kid), None)

    def trusts(self, kid: str, now: float) -> bool:
        key = self.find(kid)
        return key is not None and key.verifies_at(now)

    def published(self, now: float) -> list[KeyEntry]:
        """The keys of the JWKS: the current one and every previous one whose tokens may still be alive."""
        return [key for key in self.keys if key.verifies_at(now)]


class RegistryChangedError(ServiceError):
    """Someone else (another rotation, a concurrent first use) wrote the registry since we read it."""

    status = 503


def to_key_set(item: Item | None) -> KeySet:
    """The registry as stored; an item we can't read is a broken dependency (503), never "no keys"."""
    if item is None:
        return KeySet()
    try:
        entries = json.loads(str(read_s(item, "key_set", "[]")))
        keys = tuple(KeyEntry(**{**entry, "jwk": dict(entry["jwk"])}) for entry in entries)
    except (ValueError, TypeError, KeyError) as exc:
        raise DependencyError() from exc
    return KeySet(keys=keys, version=int(read_n(item, "version")))


class KeyRegistry:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def read(self) -> KeySet:
        with dependency_call():
            response = self._client.get_item(TableName=self._table, Key=registry_key(), ConsistentRead=True)
        return to_key_set(response.get("Item"))

    def replace(self, read: KeySet, keys: list[KeyEntry]) -> KeySet:
        """Write `keys` as the registry, if it is still the version `read` (else RegistryChangedError)."""
        written = KeySet(keys=tuple(keys), version=read.version + 1)
        item: dict[str, Any] = {
            **registry_key(),
            "key_set": s(json.dumps([asdict(key) for key in written.keys], separators=(",", ":"))),
            "version": n(written.version),
        }
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if read.version == 0
            else {"ConditionExpression": "version = :read", "ExpressionAttributeValues": {":read": n(read.version)}}
        )
        with dependency_call(on_condition_failed=RegistryChangedError):
            self._client.put_item(TableName=self._table, Item=item, **condition)
        return written

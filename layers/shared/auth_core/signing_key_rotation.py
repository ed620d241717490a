"""Rotation of the access-token signing key (a KMS key), run daily by a schedule (template.yaml) and by
`make rotate-key-emergency`.

A routine run, once the current key is SIGNING_KEY_ROTATION_DAYS old, creates a new KMS key (its key policy lets only
the issuing functions sign), makes it current and keeps the old one as `previous` until every token it signed has
expired (`verify_until`). Every run retires the previous keys past that instant: their KMS key is scheduled for
deletion and they leave the registry, so the JWKS. An emergency rotation (a suspected compromise) makes a new key
current and drops every other one at once: every token they signed is refused at the next request.

Retired keys are scheduled for deletion (the shortest window, 7 days) rather than only disabled: a retired key signs
nothing that could still be valid, a key pending deletion can no longer sign (KMSInvalidStateException), the window
is the undo (CancelKeyDeletion) if a retirement was a mistake, and nothing is left to cost $1 a month forever.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from auth_core.dynamo import dependency_call, error_code
from auth_core.errors import DependencyError
from auth_core.observability import audit
from auth_core.signing_keys import CURRENT, PREVIOUS

if TYPE_CHECKING:
    from collections.abc import Callable

    from auth_core.signer import KmsSigner
    from auth_core.signing_keys import KeyEntry, KeyRegistry, KeySet

DELETION_WINDOW_DAYS = 7
# A request that read the registry just before a rotation may still sign with the old key: no longer than a function
# runs (10 s), with room to spare.
IN_FLIGHT_SECONDS = 60
# What the account (its administrators, through IAM) may do with a signing key: manage it, never sign with it.
ADMIN_ACTIONS = [
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:ListResourceTags",
    "kms:ListGrants",
    "kms:RevokeGrant",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
]
ROTATOR_ACTIONS = ["kms:DescribeKey", "kms:GetPublicKey", "kms:ScheduleKeyDeletion"]
# The first key must be registered by the first login or refresh, which reads its public half once.
ISSUER_ACTIONS = ["kms:Sign", "kms:GetPublicKey"]


def key_policy(*, issuer_roles: list[str], rotator_role: str) -> dict[str, Any]:
    """The key policy of every signing key (template.yaml's SigningKmsKey has the same, pinned by its test): only the
    issuing functions' roles may sign, ES256 digests only; the rotation may read the public key and retire it."""
    partition, account = rotator_role.split(":")[1], rotator_role.split(":")[4]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersNeverSigns",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                "Action": ADMIN_ACTIONS,
                "Resource": "*",
            },
            {
                "Sid": "IssuersSign",
                "Effect": "Allow",
                "Principal": {"AWS": issuer_roles},
                "Action": ISSUER_ACTIONS,
                "Resource": "*",
            },
            {
                "Sid": "RotationRetires",
                "Effect": "Allow",
                "Principal": {"AWS": rotator_role},
                "Action": ROTATOR_ACTIONS,
                "Resource": "*",
            },
        ],
    }


class SigningKeyRotator:
    def __init__(
        self,
        kms: Any,  # a KMS client (boto3-stubs for KMS are not in the lock)
        registry: KeyRegistry,
        signer: KmsSigner,
        *,
        policy: dict[str, Any],
        rotation_seconds: float,
        retention_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._kms = kms
        self._registry = registry
        self._signer = signer
        self._policy = policy
        self._rotation_seconds = rotation_seconds
        self._retention_seconds = retention_seconds
        self._clock = clock

    def run(self) -> KeySet:
        """The scheduled run: retire the previous keys whose tokens have all expired; rotate when the current key is
        due. Safe to run at any time and any number of times."""
        key_set = self._registry.read()
        if key_set.current is None:  # a fresh deployment nobody signed in to yet: register the template's key
            self._signer.current(key_set)
            key_set = self._registry.read()
        now = self._clock()
        current = key_set.current
        assert current is not None
        expired = [key for key in key_set.keys if key.status == PREVIOUS and not key.verifies_at(now)]
        is_due = now - current.created_at >= self._rotation_seconds
        if not expired and not is_due:
            return key_set
        self._schedule_deletion(expired)  # first: a retry after a failed write finds them pending and goes on
        kept = [key for key in key_set.keys if key not in expired]
        if is_due:
            until = now + self._retention_seconds
            demoted = [
                dataclasses.replace(key, status=PREVIOUS, verify_until=until) if key == current else key for key in kept
            ]
            written = self._write_with_new_key(key_set, demoted)
            audit("signing_key_rotated", "success", kid=written.current.kid if written.current else None)
        else:
            written = self._registry.replace(key_set, kept)
        for key in expired:
            audit("signing_key_retired", "success", kid=key.kid)
        return written

    def emergency(self) -> KeySet:
        """A new current key, and no other key trusted any more: every token signed before is refused at once (the
        authorizer reads the registry with every request's revocation check), and the old keys can't sign again."""
        key_set = self._registry.read()
        # The old keys stop signing first, while the registry still lists them: a run that fails after this point
        # (KMS throttled, the write lost) is finished by the next one, which finds them listed and pending deletion.
        # Dropping them first would leave a leaked key able to sign, listed nowhere, where no later run looks. Until
        # the new key is written, login and refresh answer 503: in an emergency, better than the leaked key signing.
        self._schedule_deletion(list(key_set.keys))
        written = self._write_with_new_key(key_set, [])
        audit("signing_key_replaced", "success", kid=written.current.kid if written.current else None)
        return written

    def _write_with_new_key(self, read: KeySet, others: list[KeyEntry]) -> KeySet:
        """Create a KMS key, make it current beside `others`; if the registry can't take it, delete the key again."""
        with dependency_call():
            created = self._kms.create_key(
                Description="serverless-jwt-auth access-token signing key (ES256)",
                KeySpec="ECC_NIST_P256",
                KeyUsage="SIGN_VERIFY",
                Policy=json.dumps(self._policy),
                # The policy gives the account administration, so it locks nobody out; without this flag KMS would
                # want the rotation itself to hold kms:PutKeyPolicy, which would let it grant itself kms:Sign.
                BypassPolicyLockoutSafetyCheck=True,
            )
        key_id = created["KeyMetadata"]["Arn"]
        try:
            new = self._signer.entry(key_id, status=CURRENT)
            return self._registry.replace(read, [new, *others])
        except Exception:  # whatever failed, the new key must not linger unused: delete it, then re-raise
            self._schedule_deletion_of(key_id)
            raise

    def _schedule_deletion(self, keys: list[KeyEntry]) -> None:
        for key in keys:
            self._schedule_deletion_of(key.key_id)

    def _schedule_deletion_of(self, key_id: str) -> None:
        try:
            with dependency_call():
                self._kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=DELETION_WINDOW_DAYS)
        except DependencyError as exc:
            cause = exc.__cause__
            # Already pending deletion (a retried run) or gone: retired either way.
            if isinstance(cause, ClientError) and error_code(cause) in (
                "KMSInvalidStateException",
                "NotFoundException",
            ):
                return
            raise

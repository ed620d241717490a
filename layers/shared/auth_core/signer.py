"""Signing access tokens with the registry's current KMS key: the private key never leaves KMS (nobody, our own
functions included, can read it), and only the issuing functions may call kms:Sign on it (the key policies).

One round trip per token: the SHA-256 of the JWS signing input is computed here and sent as a DIGEST, and KMS's DER
signature becomes JWS's raw `r || s` (auth_core.es256). Only the issuing functions build this (and its KMS client).
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from auth_core.dynamo import dependency_call
from auth_core.errors import DependencyError
from auth_core.es256 import public_jwk, raw_signature
from auth_core.observability import audit
from auth_core.signing_keys import CURRENT, KeyEntry, RegistryChangedError

if TYPE_CHECKING:
    from collections.abc import Callable

    from auth_core.signing_keys import KeyRegistry, KeySet


class KmsSigner:
    def __init__(
        self,
        client: Any,  # a KMS client (boto3-stubs for KMS are not in the lock)
        registry: KeyRegistry,
        *,
        first_key_id: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._registry = registry
        self._first_key_id = first_key_id
        self._clock = clock

    def current(self, key_set: KeySet) -> KeyEntry:
        """The key to sign with: the registry's current one. A fresh deployment's registry is empty: then the
        template's key (SIGNING_KMS_KEY_ID) becomes current, recorded once by whichever request gets there first."""
        if key_set.current is not None:
            return key_set.current
        if not self._first_key_id:
            raise DependencyError()
        key = self.entry(self._first_key_id, status=CURRENT)
        try:
            self._registry.replace(key_set, [key])
        except RegistryChangedError:
            current = self._registry.read().current
            if current is None:
                raise
            return current
        audit("signing_key_registered", "success", kid=key.kid)
        return key

    def entry(self, key_id: str, *, status: str) -> KeyEntry:
        """A registry entry for a KMS key: its public half (kms:GetPublicKey), as a JWK with its thumbprint."""
        with dependency_call():  # any KMS failure (throttled, disabled key, no permission, timeout): a 503
            response = self._client.get_public_key(KeyId=key_id)
        jwk = public_jwk(response["PublicKey"])
        return KeyEntry(kid=jwk["kid"], key_id=response["KeyId"], jwk=jwk, status=status, created_at=self._clock())

    def sign(self, key: KeyEntry, signing_input: bytes) -> bytes:
        """The raw ES256 signature of `signing_input` by `key`, from one kms:Sign call."""
        digest = hashlib.sha256(signing_input).digest()
        with dependency_call():  # any KMS failure (throttled, disabled key, no permission, timeout): a 503
            response = self._client.sign(
                KeyId=key.key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256"
            )
        return raw_signature(response["Signature"])

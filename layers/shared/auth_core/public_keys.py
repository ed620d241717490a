"""The public keys that verify access tokens, held in memory with a bounded age: never a KMS call per request.

Filled from the key registry (auth_core.signing_keys), and refreshed by every registry read the authorizer makes
anyway (its revocation BatchGetItem carries the registry item). A `kid` it doesn't know makes it read the registry
again, but at most once per UNKNOWN_KID_REFETCH_SECONDS: a stream of invented kids can't turn every request into a
DynamoDB read, and a key rotated in a moment ago is still found within seconds.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from auth_core.errors import DependencyError
from auth_core.es256 import verifying_key

if TYPE_CHECKING:
    from collections.abc import Callable

    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

    from auth_core.signing_keys import KeyRegistry, KeySet


class PublicKeys:
    UNKNOWN_KID_REFETCH_SECONDS = 5.0
    STALE_IF_ERROR_SECONDS = 3600.0

    def __init__(
        self,
        registry: KeyRegistry,
        *,
        max_age: float,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._max_age = max_age
        self._clock = clock
        self._monotonic = monotonic
        self._key_set: KeySet | None = None
        self._published: dict[str, dict[str, str]] = {}  # kid -> public JWK, as the registry was last read
        self._keys: dict[str, EllipticCurvePublicKey] = {}  # the ones built so far (cryptography: on first use)
        self._fetched_at = 0.0

    def key_set(self) -> KeySet:
        """The registry as last read, read again once older than `max_age` (kept through a DynamoDB outage for a
        while: the keys we hold still verify)."""
        age = self._monotonic() - self._fetched_at
        if self._key_set is None or age > self._max_age:
            try:
                self.reload()
            except DependencyError:
                if self._key_set is None or age > self._max_age + self.STALE_IF_ERROR_SECONDS:
                    raise
        assert self._key_set is not None
        return self._key_set

    def find(self, kid: str) -> EllipticCurvePublicKey | None:
        """The public key a token names, if the registry publishes it; None for a kid we don't trust."""
        self.key_set()
        if kid not in self._published and self._monotonic() - self._fetched_at > self.UNKNOWN_KID_REFETCH_SECONDS:
            self.reload()
        jwk = self._published.get(kid)
        if jwk is None:
            return None
        key = self._keys.get(kid)
        if key is None:
            try:
                key = verifying_key(jwk)
            except (ValueError, TypeError, KeyError) as exc:  # a registry entry we can't read: a 503, as to_key_set
                raise DependencyError() from exc
            # A new dict, never one changed in place: a `learn` running meanwhile (another thread) replaces the dict
            # and iterates the one it replaces.
            self._keys = {**self._keys, kid: key}
        return key

    def reload(self) -> KeySet:
        """The registry read again now, and learned: a caller found out it changed."""
        key_set = self._registry.read()
        self.learn(key_set)
        return key_set

    def learn(self, key_set: KeySet) -> None:
        """Take `key_set` as the registry now: keys it no longer publishes are forgotten at once (an emergency
        rotation), keys already built are kept as they are (a kid is the thumbprint: same kid, same key). A key is
        built (cryptography) when a token first names it: the JWKS function never builds one."""
        self._published = {key.kid: key.jwk for key in key_set.published(self._clock())}
        self._keys = {kid: key for kid, key in self._keys.items() if kid in self._published}
        self._key_set = key_set
        self._fetched_at = self._monotonic()

"""The service's own HMAC secret from Secrets Manager, cached in memory with a bounded age, never logged. It keys
what only this service verifies (refresh-token tags, device cookies, cursors, through `subkey`); it signs no JWT:
access tokens are ES256, signed in KMS (auth_core.signer).

The secret is JSON: {"kid": "...", "alg": "HS256", "key": "<at least 256 bits of randomness>"}. Verification accepts
the AWSCURRENT and the AWSPREVIOUS version, so tokens signed before a rotation keep working until they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from auth_core.errors import DependencyError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

MIN_KEY_BYTES = 32  # RFC 7518 s3.2: an HS256 key at least as long as the hash output


@dataclass(frozen=True, repr=False)
class SigningKey:
    kid: str
    secret: bytes = field(repr=False)

    def __repr__(self) -> str:  # never let a key reach a log line through repr()
        return f"SigningKey(kid={self.kid!r})"


@dataclass(frozen=True)
class KeyRing:
    current: SigningKey
    previous: SigningKey | None

    def find(self, kid: str) -> SigningKey | None:
        """The key a token names, among the ones we still accept."""
        for key in (self.current, self.previous):
            if key is not None and key.kid == kid:
                return key
        return None


def subkey(key: SigningKey, purpose: str) -> bytes:
    """A key for one purpose only, derived from a version of the service's secret (HMAC-SHA256 as a PRF, the
    purpose as its label): a key used for device cookies can never verify a cursor or a refresh token."""
    return hmac.new(key.secret, b"serverless-jwt-auth/" + purpose.encode("ascii"), hashlib.sha256).digest()


def parse_signing_key(secret_string: str) -> SigningKey:
    """Read one version of the secret; refuse anything that is not a usable HS256 key."""
    try:
        document: Any = json.loads(secret_string)
        kid, key = document["kid"], document["key"]
    except (ValueError, KeyError, TypeError) as exc:
        raise DependencyError() from exc
    if not isinstance(kid, str) or not kid or not isinstance(key, str) or len(key.encode()) < MIN_KEY_BYTES:
        raise DependencyError()
    return SigningKey(kid=kid, secret=key.encode("utf-8"))


class KeyStore:
    """Fetches the key ring on first use and again once it is older than `max_age` seconds."""

    # When a token names a kid we don't know, look again (a rotation may just have happened), but at most this often:
    # short enough that a rotation refuses fresh tokens for seconds at most, long enough that random kids can't turn
    # every request into a Secrets Manager call.
    UNKNOWN_KID_REFETCH_SECONDS = 5.0
    STALE_IF_ERROR_SECONDS = 3600.0
    RETRY_AFTER_ERROR_SECONDS = 10.0

    def __init__(self, client: SecretsManagerClient, secret_id: str, *, max_age: float) -> None:
        self._client = client
        self._secret_id = secret_id
        self._max_age = max_age
        self._ring: KeyRing | None = None
        self._fetched_at = 0.0
        self._retry_at = 0.0

    def ring(self) -> KeyRing:
        age = time.monotonic() - self._fetched_at
        if self._ring is None or (age > self._max_age and time.monotonic() >= self._retry_at):
            try:
                self._refresh()
            except DependencyError:
                # Stale-if-error: keys we already hold stay usable for a while when Secrets Manager is down, so an
                # outage there doesn't take every request down with it; try again after a short pause.
                if self._ring is None or age > self._max_age + self.STALE_IF_ERROR_SECONDS:
                    raise
                self._retry_at = time.monotonic() + self.RETRY_AFTER_ERROR_SECONDS
        assert self._ring is not None
        return self._ring

    def find(self, kid: str) -> SigningKey | None:
        key = self.ring().find(kid)
        if key is None and time.monotonic() - self._fetched_at > self.UNKNOWN_KID_REFETCH_SECONDS:
            self._refresh()
            key = self.ring().find(kid)
        return key

    def _refresh(self) -> None:
        current = parse_signing_key(self._read("AWSCURRENT") or "")
        previous_string = self._read("AWSPREVIOUS")
        previous = parse_signing_key(previous_string) if previous_string else None
        self._ring = KeyRing(current=current, previous=previous)
        self._fetched_at = time.monotonic()

    def _read(self, stage: str) -> str | None:
        try:
            response = self._client.get_secret_value(SecretId=self._secret_id, VersionStage=stage)
        except ClientError as exc:
            if stage == "AWSPREVIOUS" and exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return None  # never rotated yet
            raise DependencyError() from exc
        except BotoCoreError as exc:
            raise DependencyError() from exc
        return response.get("SecretString")

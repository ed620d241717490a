"""Device credentials (OWASP Authentication Cheat Sheet / "Slow down online guessing attacks with device cookies").

A successful login hands the browser or app a credential naming a device id, bound to the account's email and signed
with a purpose-bound subkey of the service's secret: `dev1.<device id>.<tag>`. A later login for the same account that
presents it is throttled on that device's own budget, so failures from elsewhere (an attacker who only knows the
email) never lock its owner out. It proves nothing else: it is never a session credential and opens no route.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import TYPE_CHECKING

from auth_core.keys import subkey
from auth_core.tokens import new_id

if TYPE_CHECKING:
    from auth_core.keys import KeyStore, SigningKey

DEVICE_COOKIE = "device"
DEVICE_COOKIE_MAX_AGE = 31_536_000  # a year
_SHAPE = re.compile(r"dev1\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})")


class DeviceCredentials:
    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys

    def issue(self, *, email: str, device_id: str | None = None) -> tuple[str, str]:
        """A credential for this account and device (a new device id unless one is given): (device id, value)."""
        device_id = device_id or new_id()
        return device_id, f"dev1.{device_id}.{self._tag(self._keys.ring().current, email, device_id)}"

    def device_of(self, value: str | None, *, email: str) -> str | None:
        """The device id of a credential issued for this account, or None (absent, malformed, forged, another
        account's, or signed by a key that is gone): then the attempt counts against the account's budget."""
        match = _SHAPE.fullmatch(value) if value and len(value) < 64 else None
        if match is None:
            return None
        device_id, tag = match.groups()
        ring = self._keys.ring()
        for key in (ring.current, ring.previous):
            if key is not None and hmac.compare_digest(tag, self._tag(key, email, device_id)):
                return device_id
        return None

    def _tag(self, key: SigningKey, email: str, device_id: str) -> str:
        message = f"{email}\x00{device_id}".encode()
        digest = hmac.new(subkey(key, "device-cookie/v1"), message, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

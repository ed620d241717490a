"""Device credentials (OWASP Authentication Cheat Sheet / "Slow down online guessing attacks with device cookies").

A successful login hands the browser or app a credential naming a device id and, for each account signed in on that
device (the last few), a tag binding the id to the account's email, signed with a purpose-bound subkey of the
service's secret: `dev1.<device id>.<tag>[.<tag>...]`. A later login that presents it for one of those accounts is
throttled on that device's own budget, so failures from elsewhere (an attacker who only knows the email) never lock
its owner out, and signing in to a second account in the same browser keeps the first one's. It proves nothing else:
it is never a session credential and opens no route.
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
MAX_ACCOUNTS = 5  # accounts remembered per device: a family computer, a personal and a work account
_SHAPE = re.compile(rf"dev1\.([A-Za-z0-9_-]{{22}})((?:\.[A-Za-z0-9_-]{{22}}){{1,{MAX_ACCOUNTS}}})")


class DeviceCredentials:
    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys

    def device_of(self, value: str | None, *, email: str) -> str | None:
        """The device id of a credential that names this account, or None (absent, malformed, forged, only other
        accounts', or signed by a key that is gone): then the attempt counts against the account's budget."""
        parsed = _parse(value)
        if parsed is None:
            return None
        device_id, tags = parsed
        ring = self._keys.ring()
        for key in (ring.current, ring.previous):
            expected = self._tag(key, email, device_id) if key is not None else None
            if expected is not None and any(hmac.compare_digest(tag, expected) for tag in tags):
                return device_id
        return None

    def issue(self, *, email: str, presented: str | None) -> str:
        """The credential to set after this account signed in: the presented device's, naming this account last
        (the oldest account drops out past MAX_ACCOUNTS), or a new device's."""
        parsed = _parse(presented)
        device_id, tags = parsed if parsed is not None else (new_id(), [])
        tag = self._tag(self._keys.ring().current, email, device_id)
        kept = [other for other in tags if other != tag][-(MAX_ACCOUNTS - 1) :]
        return ".".join(["dev1", device_id, *kept, tag])

    def _tag(self, key: SigningKey, email: str, device_id: str) -> str:
        message = f"{email}\x00{device_id}".encode()
        digest = hmac.new(subkey(key, "device-cookie/v1"), message, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _parse(value: str | None) -> tuple[str, list[str]] | None:
    match = _SHAPE.fullmatch(value) if value and len(value) < 256 else None
    if match is None:
        return None
    return match.group(1), match.group(2).split(".")[1:]

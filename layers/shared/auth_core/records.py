"""The user record as stored: a plain dataclass, so the authorizer can read users without loading pydantic."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

Role = Literal["user", "admin"]
Status = Literal["active", "disabled"]


@dataclass(frozen=True)
class UserRecord:
    """A user as stored. `password_hash` is None when read through the id index, which never projects it."""

    id: str
    email: str
    role: Role
    status: Status
    created_at: str
    tokens_valid_after: float = 0.0
    # Accounts stored before email verification existed have no flag: they count as verified (README, upgrading).
    email_verified: bool = True
    # The one session a password change kept (CONTRACT.md): exempt from `tokens_valid_after`, until the next
    # sign-out-everywhere, disable or reset, which clears it.
    kept_session: str = ""
    password_hash: str | None = field(default=None, repr=False)

    @property
    def is_active(self) -> bool:
        return self.status == "active"


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

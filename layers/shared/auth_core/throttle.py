"""Per-account throttling of failed logins (OWASP ASVS 6.3.1 / 2.2.1, OWASP Authentication Cheat Sheet).

The first FREE_FAILURES failures cost nothing; each further one locks the account's logins for a delay that doubles,
from BASE_DELAY up to MAX_DELAY. A lock is always temporary, a successful login resets the count, and failures older
than FORGET_AFTER are forgotten, so an attacker can slow a user down but never lock them out for good. Unknown emails
are throttled exactly like known ones, so the throttle reveals nothing about which accounts exist.
"""

from __future__ import annotations

from dataclasses import dataclass

FREE_FAILURES = 5
BASE_DELAY = 30.0
MAX_DELAY = 900.0  # 15 minutes
FORGET_AFTER = 86_400.0  # a day without failures starts the count afresh


def delay_after(failures: int) -> float:
    """Seconds of lock after this many consecutive failures: 0 for the first five, then 30 s, 60 s, ... 15 min."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(MAX_DELAY, BASE_DELAY * 2.0 ** (failures - FREE_FAILURES))


@dataclass(frozen=True)
class LoginAttempts:
    failures: int = 0
    locked_until: float = 0.0
    last_failure_at: float = 0.0

    def retry_after(self, now: float) -> float:
        """Seconds until a login may be tried again (0 when it may be tried now)."""
        return max(0.0, self.locked_until - now)

    def is_stale(self, now: float) -> bool:
        return now - self.last_failure_at > FORGET_AFTER

    def failures_after_one_more(self, now: float) -> int:
        return 1 if self.is_stale(now) else self.failures + 1

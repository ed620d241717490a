"""Per-account throttling of failed logins (OWASP ASVS 6.3.1 / 2.2.1, OWASP Authentication Cheat Sheet).

The first FREE_FAILURES failures cost nothing; from the fifth on, each failure locks that budget's logins for a delay
that doubles from BASE_DELAY up to MAX_DELAY. A lock is always temporary, a successful login resets the count, and
failures older than FORGET_AFTER are forgotten. Unknown emails are throttled exactly like known ones, so the throttle
reveals nothing about which accounts exist.

Each attempt is counted (auth_core.attempts) before its password is checked, with the lock it will deserve if it
fails already set, so concurrent guesses can't outrun the budget. The count is bounded (MAX_COUNTED) and so is the
arithmetic on it: an attacker who keeps guessing for months meets the same 15-minute lock, never an overflow.
"""

from __future__ import annotations

from dataclasses import dataclass

FREE_FAILURES = 5
BASE_DELAY = 30.0
MAX_DELAY = 900.0  # 15 minutes
FORGET_AFTER = 86_400.0  # a day without attempts starts the count afresh
# BASE_DELAY * 2**6 is already past MAX_DELAY: counting further would change nothing but the size of the numbers.
MAX_COUNTED = FREE_FAILURES + 6


def delay_after(failures: int) -> float:
    """Seconds of lock after this many consecutive failures: 0 for the first four, then 30 s, 60 s, ... 15 min."""
    if failures < FREE_FAILURES:
        return 0.0
    doublings = min(failures, MAX_COUNTED) - FREE_FAILURES
    return min(MAX_DELAY, BASE_DELAY * 2.0**doublings)


@dataclass(frozen=True)
class LoginAttempts:
    """One budget's recent attempts as stored; `version` 0 means nothing is stored yet."""

    failures: int = 0
    locked_until: float = 0.0
    last_attempt_at: float = 0.0
    version: int = 0

    def retry_after(self, now: float) -> float:
        """Seconds until a login may be tried again (0 when it may be tried now)."""
        return max(0.0, min(self.locked_until - now, MAX_DELAY))

    def is_stale(self, now: float) -> bool:
        return now - self.last_attempt_at > FORGET_AFTER

    def after_one_more(self, now: float) -> LoginAttempts:
        """The state once one more attempt is counted, locked as if it fails (a success deletes the state)."""
        failures = min(MAX_COUNTED, (0 if self.is_stale(now) else self.failures) + 1)
        return LoginAttempts(
            failures=failures, locked_until=now + delay_after(failures), last_attempt_at=now, version=self.version + 1
        )

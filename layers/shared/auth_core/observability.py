"""Logger and Metrics, one of each per process, and the audit trail (X-Ray: auth_core.tracing).

Audit lines are ordinary JSON log lines with `"audit": true`, the event name, the outcome and the user id; the
request id (correlation id), source IP and user agent come from the keys the HTTP entry point appends per request.
Never pass a password, token, hash or key to any of these.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()


def audit(event: str, outcome: str, *, user_id: str | None = None, **fields: Any) -> None:
    """One structured line per security event (OWASP ASVS 7.1 / 7.2)."""
    logger.info(
        f"audit {event} {outcome}",
        extra={"audit": True, "event": event, "outcome": outcome, "user_id": user_id, **fields},
    )


def count(metric: str) -> None:
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)

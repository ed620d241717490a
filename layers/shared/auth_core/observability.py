"""Logger and Metrics, one of each per process, and the audit trail (X-Ray: auth_core.tracing).

Audit lines are ordinary JSON log lines with `"audit": true`, the event name, the outcome and the user id; the
request id (correlation id), source IP and user agent come from the keys the HTTP entry point appends per request.
Never pass a password, token, hash or key to any of these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

if TYPE_CHECKING:
    from auth_core.errors import ErrorCode

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


def count_access_denied(reason: ErrorCode) -> None:
    """One `AccessDenied` with the contract's error code as its `reason` dimension.

    A metric of its own (EMF puts every metric of a record under the same dimensions), written at once. The reason is
    an `ErrorCode`, so a dimension can only ever be one of the contract's codes, never anything a caller sent.
    """
    with single_metric(name="AccessDenied", unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
        metric.add_dimension(name="reason", value=reason.value)

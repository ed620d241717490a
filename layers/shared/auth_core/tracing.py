"""X-Ray subsegments from inside the handlers, when asked for.

Lambda's active tracing (template.yaml) records every invocation without any SDK. Powertools' Tracer adds a
subsegment per DynamoDB and Secrets Manager call, but importing the X-Ray SDK costs 0.15 to 0.3 s of every cold start
(measured by `make bench`), so it is opt-in: XRAY_SDK_TRACING=true (the template's XRaySdkTracing parameter).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable


def is_sdk_tracing_enabled() -> bool:
    return os.environ.get("XRAY_SDK_TRACING", "false").strip().lower() == "true"


def traced[F: Callable[..., Any]](handler: F) -> F:
    """The handler, wrapped by Powertools' Tracer when SDK tracing is on; unchanged (and nothing imported) otherwise."""
    if not is_sdk_tracing_enabled():
        return handler
    from aws_lambda_powertools import Tracer

    wrapped: F = Tracer().capture_lambda_handler(capture_response=False)(handler)
    return wrapped

"""The daily run of the access-token signing-key rotation (its schedule is in template.yaml)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from auth_core import container
from auth_core.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    key_set = container.signing_key_rotator().run()
    current = key_set.current
    logger.info("signing keys checked", extra={"current": current.kid if current else None, "keys": len(key_set.keys)})
    return {"current": current.kid if current else None, "published": [key.kid for key in key_set.keys]}

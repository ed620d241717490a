"""Secrets Manager rotation of the signing key (its schedule is in template.yaml)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from auth_core import container
from auth_core.key_rotation import KeyRotator
from auth_core.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> None:
    logger.info("rotation step", extra={"step": event.get("Step")})
    KeyRotator(container.secretsmanager()).run(
        secret_id=event["SecretId"], token=event["ClientRequestToken"], step=event["Step"]
    )

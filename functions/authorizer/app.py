"""The Lambda (TOKEN) authorizer in front of every protected route: Allow with the caller, or Deny with the reason.

A Deny carries `error` and `message` in its context; the ACCESS_DENIED gateway response turns them into the 401 body.
A failing dependency raises, and API Gateway answers AUTHORIZER_FAILURE (503 in the template).
Its cold path imports only what it runs (issue 13): no pydantic, no Powertools data classes, no botocore.docs.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from auth_core import container
from auth_core.access import bearer_token
from auth_core.errors import AuthenticationError
from auth_core.observability import count_access_denied, logger, metrics
from auth_core.policy import MethodArn, authorizer_response
from auth_core.tracing import traced


@logger.inject_lambda_context(clear_state=True)
@traced
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    arn = MethodArn.parse(event["methodArn"])
    container.use_stage(api_id=arn.api_id, region=arn.region, stage=arn.stage)  # the default issuer
    try:
        principal = container.access_verifier().verify(bearer_token(event.get("authorizationToken")))
    except AuthenticationError as error:
        logger.info("access denied", extra={"reason": error.code.value})
        count_access_denied(error.code)
        # The ACCESS_DENIED template pastes the message into JSON unescaped: keep it free of quotes and backslashes.
        message = error.message.replace('"', "'").replace("\\", "/")
        return authorizer_response(
            arn, allow=False, principal_id="anonymous", context={"error": error.code.value, "message": message}
        )
    # Allow the whole API: with a result cache, one decision then serves every route for this token.
    return authorizer_response(
        arn,
        allow=True,
        principal_id=principal.sub,
        context={"sub": principal.sub, "email": principal.email, "role": principal.role, "sid": principal.sid},
    )

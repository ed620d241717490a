"""A local API Gateway: template.yaml's REST API in front of the real handlers, invoked in-process.

`LocalGateway(template, root).handle(method, path, headers, body, source_ip)` answers one HTTP request the way the
deployed REST API does with Lambda proxy integrations (payload format 1.0). One module per concern:

- `template`: parameters (defaults, overrides, the environment) and `!Ref`;
- `routes`: the routes from every function's `Api` events, and which one a request takes (none: the
  MISSING_AUTHENTICATION_TOKEN gateway response, whatever the method);
- `authorizers` and `policy`: TOKEN authorizers, their answer read as API Gateway reads it, the result cache;
- `jwt_authorizers`: native JWT authorizers (a REST API's `Type: JWT`, an HTTP API's JwtConfiguration), verified with
  the issuer's published keys, for an `AWS::Serverless::HttpApi` or a plain-CloudFormation `AWS::ApiGateway::RestApi`
  (LocalGateway's `api=`), such as examples/consumer-api;
- `lambdas`: importing and invoking the functions (timeouts, one warm environment or several);
- `events` and `answers`: the proxy event a function gets, and its result checked and turned into HTTP;
- `responses`: gateway responses from the template's GatewayResponses;
- `local_gateway`: LocalGateway, which ties them together.

Not reproduced: REQUEST and Cognito authorizers, request validators, API keys and usage plans, throttling, WAF,
binary media types (a body that isn't UTF-8 is passed base64-encoded), the Api's `Cors` property, and per-function
environment variables (everything runs in one process).
"""

from infra.gateway.local_gateway import INTEGRATION_TIMEOUT_SECONDS, MAX_PAYLOAD_BYTES, LocalGateway
from infra.gateway.request import Answer, Header
from infra.gateway.template import TemplateError, TemplateValues, parameter_env_name

__all__ = [
    "INTEGRATION_TIMEOUT_SECONDS",
    "MAX_PAYLOAD_BYTES",
    "Answer",
    "Header",
    "LocalGateway",
    "TemplateError",
    "TemplateValues",
    "parameter_env_name",
]

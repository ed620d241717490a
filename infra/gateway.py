"""A local API Gateway: template.yaml's REST API in front of the real handlers, invoked in-process.

`LocalGateway(template, root).handle(method, path, headers, body, source_ip)` answers one HTTP request the way the
deployed REST API does with Lambda proxy integrations (payload format 1.0):

- routes come from every function's `Api` events (`{param}` and greedy `{proxy+}` segments, `ANY`); a path nothing
  matches exactly, or a known path with another method, gets the MISSING_AUTHENTICATION_TOKEN gateway response;
- the API's `DefaultAuthorizer` guards every route whose event doesn't say `Auth: {Authorizer: NONE}` (explicit
  OPTIONS routes excepted when `AddDefaultAuthorizerToCorsPreflight` is false, as SAM does); a TOKEN authorizer is
  invoked with the identity header, its policy evaluated against the method ARN, its answer cached by token for
  `ReauthorizeEvery` seconds (300 when unset, as API Gateway); an exception is AUTHORIZER_FAILURE (the message
  "Unauthorized" is UNAUTHORIZED), an answer API Gateway can't use is AUTHORIZER_CONFIGURATION_ERROR, a Deny (or no
  Allow for this ARN) is ACCESS_DENIED with the authorizer's context in `$context.authorizer.*`; on Allow, the
  principal id, the context (values stringified, as API Gateway does) and `integrationLatency` go to the handler in
  `requestContext.authorizer`;
- the handler gets the REST v1 proxy event and a small LambdaContext; its answer is checked as API Gateway checks it
  (a dict with an int `statusCode`, a str `body`, scalar header values), anything else, an exception, a result that
  isn't JSON, or a run longer than the function's Timeout is a 502 through DEFAULT_5XX, never a trace;
- headers travel as documented in "Amazon API Gateway important notes" for Lambda integrations: some request
  headers are dropped, some response headers are dropped or renamed `x-amzn-Remapped-<name>` (WWW-Authenticate
  among them); a response without Content-Type gets `application/json`;
- gateway responses use the template's GatewayResponses (status, static header values, the application/json
  template with `$context.*` filled in), falling back to DEFAULT_4XX / DEFAULT_5XX and then to API Gateway's own
  defaults.

Not reproduced: REQUEST and Cognito authorizers, request validators, API keys and usage plans, throttling, WAF,
binary media types (a body that isn't UTF-8 is passed base64-encoded), the Api's `Cors` property, per-function
environment variables (everything runs in one process), and Lambda concurrency beyond one invocation at a time per
function (each function's handler runs under its own lock, as one warm Lambda environment would).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import importlib.util
import json
import os
import re
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from infra.cfn import gateway_static_value, resources_of_type

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import ModuleType

Header = tuple[str, str]
Answer = tuple[int, list[Header], bytes]

ACCOUNT_ID = "123456789012"
API_ID = "local"
DEFAULT_REGION = "us-east-1"
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's hard limit on a REST API request payload
INTEGRATION_TIMEOUT_SECONDS = 29.0  # API Gateway's default (and, without a quota raise, maximum) integration timeout
DEFAULT_AUTHORIZER_TTL_SECONDS = 300  # API Gateway's authorizerResultTtlInSeconds when ReauthorizeEvery is unset
AUTHORIZER_CACHE_MAX_ENTRIES = 10_000

# API Gateway's status code per gateway response type, used when the template sets none.
RESPONSE_STATUS = {
    "ACCESS_DENIED": 403,
    "API_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_FAILURE": 500,
    "BAD_REQUEST_PARAMETERS": 400,
    "BAD_REQUEST_BODY": 400,
    "EXPIRED_TOKEN": 403,
    "INTEGRATION_FAILURE": 504,
    "INTEGRATION_TIMEOUT": 504,
    "INVALID_API_KEY": 403,
    "INVALID_SIGNATURE": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "QUOTA_EXCEEDED": 429,
    "REQUEST_TOO_LARGE": 413,
    "RESOURCE_NOT_FOUND": 404,
    "THROTTLED": 429,
    "UNAUTHORIZED": 401,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "WAF_FILTERED": 403,
}
# `$context.error.message` per type: what API Gateway's default body {"message": ...} says.
RESPONSE_MESSAGE = {
    "ACCESS_DENIED": "User is not authorized to access this resource",
    "AUTHORIZER_CONFIGURATION_ERROR": "Internal server error",
    "AUTHORIZER_FAILURE": "Internal server error",
    "BAD_REQUEST_BODY": "Invalid request body",
    "DEFAULT_5XX": "Internal server error",
    "INTEGRATION_TIMEOUT": "Endpoint request timed out",
    "MISSING_AUTHENTICATION_TOKEN": "Missing Authentication Token",
    "REQUEST_TOO_LARGE": "Request Too Long",
    "UNAUTHORIZED": "Unauthorized",
}
# The x-amzn-ErrorType header API Gateway sends with its own answers.
ERROR_TYPE = {
    "ACCESS_DENIED": "AccessDeniedException",
    "AUTHORIZER_CONFIGURATION_ERROR": "AuthorizerConfigurationException",
    "AUTHORIZER_FAILURE": "AuthorizerConfigurationException",
    "DEFAULT_5XX": "InternalServerErrorException",
    "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
    "UNAUTHORIZED": "UnauthorizedException",
}

# "Amazon API Gateway important notes" (REST APIs), the Lambda column of its header table.
REQUEST_HEADERS_DROPPED = frozenset(
    {
        "connection",
        "content-md5",
        "expect",
        "max-forwards",
        "proxy-authenticate",
        "server",
        "te",
        "trailer",
        "upgrade",
        "www-authenticate",
    }
)
RESPONSE_HEADERS_REMAPPED = frozenset(
    {"authorization", "connection", "content-md5", "date", "max-forwards", "server", "user-agent", "www-authenticate"}
)
# Dropped by API Gateway, plus Content-Length, which the HTTP server computes from the body it sends.
RESPONSE_HEADERS_DROPPED = frozenset(
    {"content-length", "expect", "host", "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade", "via"}
)
DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'  # API Gateway's body when nobody customized it
PROXY_RESULT_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})

_CONTEXT_REFERENCE = re.compile(r"\$!?(\{)?(context|stageVariables)((?:\.[A-Za-z0-9_]+)+)(?(1)\})")


def parameter_env_name(parameter: str) -> str:
    """The environment variable that overrides a template parameter: `AuthorizerCacheTtlSeconds` ->
    `AUTHORIZER_CACHE_TTL_SECONDS` (the names the template's Globals already give the settings)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", parameter).upper()


class TemplateError(ValueError):
    """The template describes something the local gateway can't serve (with the reason)."""


class TemplateValues:
    """The template's parameters (defaults, overridden by `overrides` or the environment) and `!Ref` resolution."""

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        self._parameters: Mapping[str, Any] = template.get("Parameters") or {}
        self._env = os.environ if env is None else env
        self._overrides = dict(overrides or {})

    @property
    def region(self) -> str:
        return self._env.get("AWS_REGION") or self._env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION

    def is_parameter(self, name: str) -> bool:
        return name in self._parameters

    def parameter(self, name: str) -> str:
        if name in self._overrides:
            return str(self._overrides[name])
        from_env = self._env.get(parameter_env_name(name))
        if from_env is not None:
            return from_env
        definition = self._parameters.get(name)
        if definition is None:
            raise TemplateError(f"no parameter {name!r} in the template")
        if "Default" not in definition:
            raise TemplateError(f"parameter {name!r} has no Default: set {parameter_env_name(name)}")
        return str(definition["Default"])

    def resolve(self, value: Any) -> Any:
        """A parameter's value for `{"Ref": Parameter}` (and the pseudo parameters); anything else as it is."""
        if isinstance(value, dict) and set(value) == {"Ref"}:
            name = value["Ref"]
            if name in self._parameters:
                return self.parameter(name)
            pseudo = {
                "AWS::Region": self.region,
                "AWS::AccountId": ACCOUNT_ID,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::StackName": "local",
            }
            if name in pseudo:
                return pseudo[name]
        return value


# ---------------------------------------------------------------------------------------------------------------
# What the template describes


@dataclass(frozen=True)
class Authorizer:
    name: str
    function: str  # logical id of the authorizer's function
    header: str
    ttl_seconds: int
    validation: re.Pattern[str] | None = None


@dataclass
class Function:
    logical_id: str
    file: Path
    module_name: str
    attribute: str
    timeout_seconds: float
    memory_mb: int
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    module: ModuleType | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Route:
    method: str  # upper case, or "ANY"
    resource: str  # the template's path: "/admin/users/{user_id}"
    function: str
    authorizer: Authorizer | None

    @property
    def segments(self) -> tuple[str, ...]:
        return _segments(self.resource)

    @property
    def resource_id(self) -> str:
        return hashlib.sha256(self.resource.encode()).hexdigest()[:6]


@dataclass(frozen=True)
class GatewayResponse:
    status: int | None
    headers: tuple[Header, ...]  # name -> mapping expression, as in the template
    templates: Mapping[str, str]


def _segments(path: str) -> tuple[str, ...]:
    return () if path in ("", "/") else tuple(path[1:].split("/")) if path.startswith("/") else tuple(path.split("/"))


def _match(resource: tuple[str, ...], segments: tuple[str, ...]) -> dict[str, str] | None:
    """The path parameters when the request's segments match the resource exactly, else None."""
    params: dict[str, str] = {}
    for index, part in enumerate(resource):
        if part.startswith("{") and part.endswith("+}"):
            rest = "/".join(segments[index:])
            if index != len(resource) - 1 or not rest:
                return None
            params[part[1:-2]] = rest
            return params
        if index >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            if not segments[index]:
                return None
            params[part[1:-1]] = segments[index]
        elif part != segments[index]:
            return None
    return params if len(segments) == len(resource) else None


def _specificity(resource: tuple[str, ...]) -> tuple[int, ...]:
    """Literal segments win over {param}, which wins over {proxy+}, from the left (lower sorts first)."""
    return tuple(2 if part.endswith("+}") else 1 if part.startswith("{") else 0 for part in resource)


# ---------------------------------------------------------------------------------------------------------------
# Lambda


class LocalLambdaContext:
    """The attributes of Lambda's context object that handlers (and Powertools) read."""

    function_version = "$LATEST"
    identity = None
    client_context = None

    def __init__(self, function: Function, request_id: str, region: str) -> None:
        self.function_name = function.logical_id
        self.memory_limit_in_mb = function.memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function.logical_id}"
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function.logical_id}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InvocationError(Exception):
    """The function failed as Lambda reports it to API Gateway (an exception, a timeout, a result that isn't JSON)."""


# ---------------------------------------------------------------------------------------------------------------
# The gateway


@dataclass
class _Request:
    method: str
    path: str
    query: str
    headers: list[Header]
    body: bytes
    source_ip: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.time)
    resource: str | None = None
    authorizer_context: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """The last value of a header (names are case-insensitive), as API Gateway's single-value view has it."""
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[-1] if values else None


@dataclass(frozen=True)
class _Policy:
    principal_id: str
    statements: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]  # effect, actions, resources
    context: dict[str, str | None]

    def allows(self, method_arn: str) -> bool:
        def applies(actions: tuple[str, ...], resources: tuple[str, ...]) -> bool:
            return any(_wildcard(action, "execute-api:Invoke", ignore_case=True) for action in actions) and any(
                _wildcard(resource, method_arn) for resource in resources
            )

        effects = {effect for effect, actions, resources in self.statements if applies(actions, resources)}
        return "Allow" in effects and "Deny" not in effects


def _wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM-style matching: `*` any run of characters, `?` one character."""
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None


class _RefusalError(Exception):
    """A gateway response instead of the integration: its type, and an optional status (DEFAULT_5XX's 502)."""

    def __init__(self, response_type: str, status: int | None = None) -> None:
        super().__init__(response_type)
        self.response_type = response_type
        self.status = status


class LocalGateway:
    def __init__(
        self,
        template: Mapping[str, Any],
        root: Path,
        *,
        api: str | None = None,
        parameters: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        log: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = root.resolve()
        self.values = TemplateValues(template, env=env, overrides=parameters)
        self._log = log or _stderr
        self._clock = clock
        self._load_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, _Policy]] = {}

        apis = resources_of_type(dict(template), "AWS::Serverless::Api")
        if api is None:
            if len(apis) != 1:
                raise TemplateError(f"the template has {len(apis)} AWS::Serverless::Api resources: name one (api=...)")
            [api] = apis
        self.api = api
        api_properties = apis[api].get("Properties") or {}
        self.stage = str(self.values.resolve(api_properties.get("StageName", "Prod")))
        if "Cors" in api_properties:
            self._log(f"local gateway: {api}'s Cors property is not reproduced (declare OPTIONS routes instead)")

        globals_function = (template.get("Globals") or {}).get("Function") or {}
        functions = resources_of_type(dict(template), "AWS::Serverless::Function")
        # Functions whose code the gateway can run (a local CodeUri, a module.function Handler), by logical id.
        self.functions = {
            logical_id: function
            for logical_id, resource in functions.items()
            if (function := self._function(logical_id, resource.get("Properties") or {}, globals_function))
        }
        auth = api_properties.get("Auth") or {}
        self.authorizers = {
            name: self._authorizer(name, spec) for name, spec in (auth.get("Authorizers") or {}).items()
        }
        default = auth.get("DefaultAuthorizer")
        if default is not None and default not in self.authorizers:
            raise TemplateError(f"DefaultAuthorizer {default!r} is not among {api}'s Authorizers")
        self.routes = self._routes(functions, default, bool(auth.get("AddDefaultAuthorizerToCorsPreflight", True)))
        for logical_id in sorted({route.function for route in self.routes}):
            if ((functions[logical_id].get("Properties") or {}).get("Environment") or {}).get("Variables"):
                self._log(f"local gateway: {logical_id}'s own Environment is not applied (one process, one env)")
        self.responses = {
            name: self._gateway_response_spec(spec)
            for name, spec in (api_properties.get("GatewayResponses") or {}).items()
        }

    # -- reading the template ----------------------------------------------------------------------------------

    def _function(self, logical_id: str, properties: Mapping[str, Any], defaults: Mapping[str, Any]) -> Function | None:
        def setting(name: str, fallback: Any) -> Any:
            return self.values.resolve(properties.get(name, defaults.get(name, fallback)))

        code_uri = setting("CodeUri", None)
        handler = setting("Handler", None)
        if not isinstance(code_uri, str) or not isinstance(handler, str) or "." not in handler:
            return None  # S3 or inline code, a container image: checked when a route or authorizer uses it
        module_path, _, attribute = handler.rpartition(".")
        code_dir = (self.root / code_uri).resolve()
        file = code_dir.joinpath(*module_path.split(".")).with_suffix(".py")
        try:
            package = code_dir.relative_to(self.root).parts
        except ValueError:
            package = ("_local_lambda", logical_id)
        parts = [re.sub(r"\W", "_", part) for part in (*package, *module_path.split("."))]
        return Function(
            logical_id=logical_id,
            file=file,
            module_name=".".join(parts),
            attribute=attribute,
            timeout_seconds=float(setting("Timeout", 3)),
            memory_mb=int(setting("MemorySize", 128)),
        )

    def _authorizer(self, name: str, spec: Mapping[str, Any]) -> Authorizer:
        if "UserPoolArn" in spec:
            raise TemplateError(f"authorizer {name}: Cognito authorizers are not reproduced locally")
        if str(spec.get("FunctionPayloadType", "TOKEN")).upper() != "TOKEN":
            raise TemplateError(f"authorizer {name}: only TOKEN authorizers are reproduced locally")
        arn = spec.get("FunctionArn")
        if not (isinstance(arn, dict) and "Fn::GetAtt" in arn and list(arn["Fn::GetAtt"])[1:] == ["Arn"]):
            raise TemplateError(f"authorizer {name}: FunctionArn must be !GetAtt <Function>.Arn")
        function = str(arn["Fn::GetAtt"][0])
        if function not in self.functions:
            raise TemplateError(f"authorizer {name}: {function} has no local CodeUri and module.function Handler")
        identity = spec.get("Identity") or {}
        ttl = self.values.resolve(identity.get("ReauthorizeEvery", DEFAULT_AUTHORIZER_TTL_SECONDS))
        expression = self.values.resolve(identity.get("ValidationExpression"))
        return Authorizer(
            name=name,
            function=function,
            header=str(self.values.resolve(identity.get("Header", "Authorization"))),
            ttl_seconds=int(ttl),
            validation=re.compile(expression) if expression else None,
        )

    def _routes(
        self, functions: Mapping[str, Mapping[str, Any]], default: str | None, default_on_preflight: bool
    ) -> list[Route]:
        routes: list[Route] = []
        for logical_id, resource in functions.items():
            for event_name, event in ((resource.get("Properties") or {}).get("Events") or {}).items():
                if event.get("Type") != "Api":
                    continue
                properties = event.get("Properties") or {}
                rest_api = properties.get("RestApiId")
                if rest_api is not None and rest_api != {"Ref": self.api}:
                    continue
                method = str(properties["Method"]).upper()
                chosen = (properties.get("Auth") or {}).get("Authorizer")
                if chosen is None:
                    chosen = default if (method != "OPTIONS" or default_on_preflight) else None
                if chosen in (None, "NONE"):
                    authorizer = None
                elif chosen in self.authorizers:
                    authorizer = self.authorizers[chosen]
                else:
                    raise TemplateError(f"{logical_id}.{event_name}: unknown authorizer {chosen!r}")
                if logical_id not in self.functions:
                    raise TemplateError(f"{logical_id}: a local CodeUri and a module.function Handler are needed")
                route = Route(
                    method=method, resource=str(properties["Path"]), function=logical_id, authorizer=authorizer
                )
                if any(r.method == route.method and r.resource == route.resource for r in routes):
                    raise TemplateError(f"{route.method} {route.resource} is declared twice")
                routes.append(route)
        return routes

    def _gateway_response_spec(self, spec: Mapping[str, Any]) -> GatewayResponse:
        status = self.values.resolve(spec.get("StatusCode"))
        headers = ((spec.get("ResponseParameters") or {}).get("Headers")) or {}
        return GatewayResponse(
            status=int(status) if status is not None else None,
            headers=tuple((str(name), str(self.values.resolve(value))) for name, value in headers.items()),
            templates={str(k): str(v) for k, v in (spec.get("ResponseTemplates") or {}).items()},
        )

    # -- handlers ----------------------------------------------------------------------------------------------

    def load_handlers(self) -> None:
        """Import the module of every function the API invokes now (as Lambda's init phase would), so the first
        requests aren't slow and a broken handler fails at start. Other functions (a rotation function, say) are
        left alone."""
        used = {route.function for route in self.routes} | {a.function for a in self.authorizers.values()}
        for logical_id in sorted(used):
            self._module(self.functions[logical_id])

    def handler_module(self, logical_id: str) -> ModuleType:
        """The imported module of a function's handler (its `Handler` attribute is looked up on every call)."""
        return self._module(self.functions[logical_id])

    def _module(self, function: Function) -> ModuleType:
        if function.module is not None:
            return function.module
        with self._load_lock:
            if function.module is None:
                existing = sys.modules.get(function.module_name)
                if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve() == function.file:
                    function.module = existing
                else:
                    function.module = _import_file(function.module_name, function.file)
        return function.module

    def _invoke(self, function: Function, event: dict[str, Any], request_id: str) -> Any:
        """Run the handler as Lambda would; InvocationError for what Lambda reports as a function error."""
        try:
            handler = getattr(self._module(function), function.attribute)
        except Exception as exc:
            self._log(f"{function.logical_id}: init failed:\n{traceback.format_exc().rstrip()}")
            raise InvocationError("init failed") from exc
        context = LocalLambdaContext(function, request_id, self.values.region)
        started = time.perf_counter()
        with function.lock:
            try:
                result = handler(event, context)
            except Exception as exc:
                self._log(f"{function.logical_id}: unhandled exception:\n{traceback.format_exc().rstrip()}")
                raise InvocationError(str(exc)) from exc
        elapsed = time.perf_counter() - started
        if elapsed > function.timeout_seconds:
            self._log(f"{function.logical_id}: ran {elapsed:.1f} s, past its Timeout of {function.timeout_seconds} s")
            raise InvocationError("Task timed out")
        try:
            return json.loads(json.dumps(result))  # what Lambda's runtime sends back is JSON
        except (TypeError, ValueError) as exc:
            self._log(f"{function.logical_id}: the result is not JSON-serializable ({type(result).__name__})")
            raise InvocationError("Runtime.MarshalError") from exc

    # -- requests ----------------------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: list[Header], body: bytes, source_ip: str
    ) -> tuple[int, list[Header], bytes]:
        """One HTTP request, as API Gateway answers it: (status, headers in order, body)."""
        started = time.perf_counter()
        path_only, _, query = path.partition("?")
        request = _Request(
            method.upper(), path_only.partition("#")[0], query.partition("#")[0], headers, body, source_ip
        )
        try:
            answer = self._handle(request)
        except Exception:  # noqa: BLE001 - like API Gateway: whatever breaks becomes a 5xx gateway response
            self._log(f"local gateway: unexpected error:\n{traceback.format_exc().rstrip()}")
            answer = self.gateway_response("DEFAULT_5XX", request, status=500)
        self._log_request(request, answer[0], started)
        return answer

    def reject(
        self, response_type: str, method: str, path: str, headers: list[Header], source_ip: str
    ) -> tuple[int, list[Header], bytes]:
        """A gateway response for a request the HTTP server refuses before reading it (e.g. REQUEST_TOO_LARGE)."""
        started = time.perf_counter()
        request = _Request(method.upper(), path.partition("?")[0], "", headers, b"", source_ip)
        answer = self.gateway_response(response_type, request)
        self._log_request(request, answer[0], started)
        return answer

    def _log_request(self, request: _Request, status: int, started: float) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        self._log(f"{request.method} {request.path} {status} {elapsed:.0f}ms {request.request_id}")

    def _handle(self, request: _Request) -> Answer:
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return self.gateway_response("REQUEST_TOO_LARGE", request)
        matched = self.route(request.method, request.path)
        if matched is None:
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN", request)
        route, path_parameters = matched
        request.resource = route.resource
        try:
            authorizer_context = self._authorize(route, request)
            event = self._proxy_event(request, route, path_parameters, authorizer_context)
            try:
                result = self._invoke(self.functions[route.function], event, request.request_id)
            except InvocationError as exc:
                raise _RefusalError("DEFAULT_5XX", 502) from exc
            answer = self._proxy_answer(route, result, request.request_id)
            if answer is None:
                raise _RefusalError("DEFAULT_5XX", 502)
        except _RefusalError as refusal:
            return self.gateway_response(refusal.response_type, request, status=refusal.status)
        if time.time() - request.started > INTEGRATION_TIMEOUT_SECONDS:
            return self.gateway_response("INTEGRATION_TIMEOUT", request)
        return answer

    def route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for this method and path, with its path parameters; None when API Gateway has none."""
        segments = _segments(path)
        if not path.startswith("/"):
            return None
        candidates = [(route, _match(route.segments, segments)) for route in self.routes]
        matching = [(route, params) for route, params in candidates if params is not None]
        if not matching:
            return None
        best = min(_specificity(route.segments) for route, _ in matching)
        resource = [(route, params) for route, params in matching if _specificity(route.segments) == best]
        for wanted in (method.upper(), "ANY"):
            for route, params in resource:
                if route.method == wanted:
                    return route, params
        return None

    # -- the authorizer ----------------------------------------------------------------------------------------

    def _authorize(self, route: Route, request: _Request) -> dict[str, Any] | None:
        authorizer = route.authorizer
        if authorizer is None:
            return None
        token = request.header(authorizer.header)
        if token is None or not token.strip():
            raise _RefusalError("UNAUTHORIZED")
        if authorizer.validation is not None and not authorizer.validation.fullmatch(token):
            raise _RefusalError("UNAUTHORIZED")
        method_arn = (
            f"arn:aws:execute-api:{self.values.region}:{ACCOUNT_ID}:{API_ID}/{self.stage}/{request.method}/"
            f"{request.path.removeprefix('/')}"
        )
        latency = 0
        policy = self._cached_policy(authorizer, token)
        if policy is None:
            started = time.perf_counter()
            event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
            try:
                result = self._invoke(self.functions[authorizer.function], event, str(uuid.uuid4()))
            except InvocationError as exc:
                raise _RefusalError("UNAUTHORIZED" if str(exc) == "Unauthorized" else "AUTHORIZER_FAILURE") from exc
            latency = round((time.perf_counter() - started) * 1000)
            policy = _policy_of(result)
            if policy is None:
                self._log(f"{authorizer.function}: the authorizer's answer is not a valid policy")
                raise _RefusalError("AUTHORIZER_CONFIGURATION_ERROR")
            self._cache_policy(authorizer, token, policy)
        request.authorizer_context = {"principalId": policy.principal_id, **policy.context}
        if not policy.allows(method_arn):
            raise _RefusalError("ACCESS_DENIED")
        return {"principalId": policy.principal_id, **policy.context, "integrationLatency": latency}

    def _cached_policy(self, authorizer: Authorizer, token: str) -> _Policy | None:
        if authorizer.ttl_seconds <= 0:
            return None
        with self._cache_lock:
            entry = self._cache.get((authorizer.name, token))
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._cache[(authorizer.name, token)]
                return None
            return entry[1]

    def _cache_policy(self, authorizer: Authorizer, token: str, policy: _Policy) -> None:
        if authorizer.ttl_seconds <= 0:
            return
        now = self._clock()
        with self._cache_lock:
            if len(self._cache) >= AUTHORIZER_CACHE_MAX_ENTRIES:
                self._cache = {key: entry for key, entry in self._cache.items() if entry[0] > now}
                while len(self._cache) >= AUTHORIZER_CACHE_MAX_ENTRIES:
                    del self._cache[next(iter(self._cache))]
            self._cache[(authorizer.name, token)] = (now + authorizer.ttl_seconds, policy)

    # -- the integration ---------------------------------------------------------------------------------------

    def _proxy_event(
        self,
        request: _Request,
        route: Route,
        path_parameters: dict[str, str],
        authorizer: dict[str, Any] | None,
    ) -> dict[str, Any]:
        headers: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        spelling: dict[str, str] = {}
        for name, value in self._integration_headers(request):
            key = spelling.setdefault(name.lower(), name)
            headers[key] = value
            multi.setdefault(key, []).append(value)
        query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        for piece in request.query.split("&"):
            if not piece:
                continue
            raw_name, _, raw_value = piece.partition("=")
            name, value = unquote_plus(raw_name), unquote_plus(raw_value)
            query[name] = value
            multi_query.setdefault(name, []).append(value)
        body: str | None = None
        is_base64 = False
        if request.body:
            try:
                body = request.body.decode("utf-8")
            except UnicodeDecodeError:
                body, is_base64 = base64.b64encode(request.body).decode("ascii"), True
        now = datetime.fromtimestamp(request.started, UTC)
        host = headers.get(spelling.get("host", "Host")) or "localhost"
        context: dict[str, Any] = {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "resourceId": route.resource_id,
            "resourcePath": route.resource,
            "httpMethod": request.method,
            "path": f"/{self.stage}{request.path}",
            "stage": self.stage,
            "requestId": request.request_id,
            "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:6]).decode(),
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(request.started * 1000),
            "protocol": "HTTP/1.1",
            "domainName": host,
            "domainPrefix": host.split(".")[0].split(":")[0],
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": request.header("User-Agent"),
                "user": None,
            },
        }
        if authorizer is not None:
            context["authorizer"] = authorizer
        return {
            "resource": route.resource,
            "path": request.path,
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": multi or None,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": context,
            "body": body,
            "isBase64Encoded": is_base64,
        }

    def _integration_headers(self, request: _Request) -> list[Header]:
        sent = [(name, value) for name, value in request.headers if name.lower() not in REQUEST_HEADERS_DROPPED]
        names = {name.lower() for name, _ in sent}
        forwarded = request.header("X-Forwarded-For")
        sent = [(name, value) for name, value in sent if name.lower() != "x-forwarded-for"]
        sent.append(("X-Forwarded-For", f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip))
        if "x-forwarded-proto" not in names:
            sent.append(("X-Forwarded-Proto", "http"))
        if "x-amzn-trace-id" not in names:
            sent.append(("X-Amzn-Trace-Id", f"Root=1-{int(request.started):08x}-{uuid.uuid4().hex[:24]}"))
        return sent

    def _proxy_answer(self, route: Route, result: Any, request_id: str) -> Answer | None:
        """The HTTP answer for a Lambda proxy result, or None when API Gateway would call it malformed."""
        problem = _proxy_result_problem(result)
        if problem is not None:
            self._log(f"{route.function}: malformed Lambda proxy response: {problem}")
            return None
        extra = sorted(set(result) - PROXY_RESULT_KEYS)
        if extra:
            self._log(f"{route.function}: keys API Gateway doesn't read in a proxy result: {', '.join(extra)}")
        body_text = result.get("body") or ""
        if result.get("isBase64Encoded"):
            try:
                body = base64.b64decode(body_text, validate=True)
            except (binascii.Error, ValueError):
                self._log(f"{route.function}: isBase64Encoded is true but the body is not base64")
                return None
        else:
            body = body_text.encode("utf-8")
        pairs: list[Header] = []
        for name, values in (result.get("multiValueHeaders") or {}).items():
            pairs.extend((name, _header_text(value)) for value in values)
        for name, value in (result.get("headers") or {}).items():
            pair = (name, _header_text(value))
            if not any(n.lower() == name.lower() and v == pair[1] for n, v in pairs):
                pairs.append(pair)
        headers: list[Header] = []
        for name, value in pairs:
            lowered = name.lower()
            if lowered in RESPONSE_HEADERS_DROPPED:
                continue
            remapped = lowered in RESPONSE_HEADERS_REMAPPED
            headers.append((f"x-amzn-Remapped-{name}", value) if remapped else (name, value))
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        headers.append(("x-amzn-RequestId", request_id))
        return int(result["statusCode"]), headers, body

    # -- gateway responses -------------------------------------------------------------------------------------

    def gateway_response(self, response_type: str, request: _Request, *, status: int | None = None) -> Answer:
        """API Gateway's own answer of this type: the template's, else DEFAULT_4XX/5XX's, else API Gateway's."""
        default_status = status or RESPONSE_STATUS.get(response_type, 500)
        fallback = "DEFAULT_4XX" if default_status < 500 else "DEFAULT_5XX"
        spec = self.responses.get(response_type) or self.responses.get(fallback)
        final_status = (spec.status if spec and spec.status else None) or default_status
        message = RESPONSE_MESSAGE.get(response_type, "Internal server error" if final_status >= 500 else "")
        context = self._template_context(request, response_type, message)
        headers: list[Header] = []
        for name, expression in spec.headers if spec else ():
            value = self._mapping_value(expression, request)
            if value is not None:
                headers.append((name, value))
        template = (spec.templates.get("application/json") if spec else None) or DEFAULT_TEMPLATE
        body = _render(template, context)
        headers.append(("Content-Type", "application/json"))
        headers.append(("x-amzn-RequestId", request.request_id))
        if response_type in ERROR_TYPE:
            headers.append(("x-amzn-ErrorType", ERROR_TYPE[response_type]))
        return final_status, headers, body.encode("utf-8")

    def _template_context(self, request: _Request, response_type: str, message: str) -> dict[str, Any]:
        return {
            "requestId": request.request_id,
            "extendedRequestId": request.request_id,
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "stage": self.stage,
            "httpMethod": request.method,
            "path": f"/{self.stage}{request.path}",
            "resourcePath": request.resource or "",
            "requestTimeEpoch": str(int(request.started * 1000)),
            "authorizer": {key: value or "" for key, value in request.authorizer_context.items()},
            "identity": {"sourceIp": request.source_ip, "userAgent": request.header("User-Agent") or ""},
            "error": {
                "message": message,
                "messageString": json.dumps(message) if message else "null",
                "responseType": response_type,
            },
        }

    def _mapping_value(self, expression: str, request: _Request) -> str | None:
        """A gateway response header's value: static text, or a request header, query string or path value."""
        if expression.startswith("'"):
            return gateway_static_value(expression)
        prefix = "method.request.header."
        if expression.startswith(prefix):
            return request.header(expression.removeprefix(prefix))
        prefix = "method.request.querystring."
        if expression.startswith(prefix):
            wanted = expression.removeprefix(prefix)
            pairs = (piece.partition("=") for piece in request.query.split("&") if piece)
            values = [unquote_plus(value) for name, _, value in pairs if unquote_plus(name) == wanted]
            return values[-1] if values else None
        return None


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _import_file(module_name: str, file: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _proxy_result_problem(result: Any) -> str | None:
    """Why API Gateway would refuse this Lambda proxy result (a 502), or None when it is well formed."""
    if not isinstance(result, dict):
        return f"the result is a {type(result).__name__}, not an object"
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return "statusCode must be an integer HTTP status"
    if result.get("body") is not None and not isinstance(result["body"], str):
        return "body must be a string"
    if not isinstance(result.get("isBase64Encoded", False), bool):
        return "isBase64Encoded must be a boolean"
    headers = result.get("headers")
    if headers is not None and not (isinstance(headers, dict) and all(_is_scalar(v) for v in headers.values())):
        return "headers must map names to strings"
    multi = result.get("multiValueHeaders")
    if multi is not None and not (
        isinstance(multi, dict)
        and all(isinstance(values, list) and all(_is_scalar(v) for v in values) for values in multi.values())
    ):
        return "multiValueHeaders must map names to lists of strings"
    return None


def _context_text(value: Any) -> str | None:
    """An authorizer context value as API Gateway passes it on: stringified (`true`, `123`), null kept."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return str(value)


def _policy_of(result: Any) -> _Policy | None:
    """The authorizer's answer as a policy, or None when API Gateway can't use it (AUTHORIZER_CONFIGURATION_ERROR)."""
    if not isinstance(result, dict) or not isinstance(result.get("principalId"), str):
        return None
    document = result.get("policyDocument")
    if not isinstance(document, dict):
        return None
    raw_statements = document.get("Statement")
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        return None
    statements = []
    for statement in raw_statements:
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            return None
        actions, resources = statement.get("Action"), statement.get("Resource")
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if not (isinstance(actions, list) and all(isinstance(a, str) for a in actions)):
            return None
        if not (isinstance(resources, list) and all(isinstance(r, str) for r in resources)):
            return None
        statements.append((str(statement["Effect"]), tuple(actions), tuple(resources)))
    context = result.get("context") or {}
    if not isinstance(context, dict) or not all(value is None or _is_scalar(value) for value in context.values()):
        return None
    return _Policy(
        principal_id=result["principalId"],
        statements=tuple(statements),
        context={str(key): _context_text(value) for key, value in context.items()},
    )


def _render(template: str, context: Mapping[str, Any]) -> str:
    """A mapping template's `$context.a.b` (and `${context.a.b}`, `$!context...`) references filled in; what the
    context doesn't hold renders as nothing. No other VTL."""

    def value(match: re.Match[str]) -> str:
        if match.group(2) != "context":
            return ""
        current: Any = context
        for key in match.group(3)[1:].split("."):
            if not isinstance(current, dict) or key not in current:
                return ""
            current = current[key]
        return "" if current is None or isinstance(current, dict) else str(current)

    return _CONTEXT_REFERENCE.sub(value, template)

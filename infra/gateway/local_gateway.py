"""LocalGateway: one API of a template, answering HTTP requests the way the deployed API does.

The API is an `AWS::Serverless::Api` (the default when the template has exactly one), an `AWS::Serverless::HttpApi`
or a plain-CloudFormation `AWS::ApiGateway::RestApi`; the last two with JWT authorizers only (`jwt_authorizers`)."""

from __future__ import annotations

import json
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any

from infra.cfn import resources_of_type
from infra.gateway.answers import proxy_answer
from infra.gateway.authorizers import TokenAuthorization, read_authorizers
from infra.gateway.events import http_api_event, proxy_event
from infra.gateway.jwt_authorizers import (
    IssuerKeys,
    JwtAuthorization,
    JwtAuthorizer,
    JwtRefusalError,
    read_http_jwt_authorizer,
    read_rest_jwt_authorizer,
)
from infra.gateway.lambdas import InvocationError, Lambdas, read_functions
from infra.gateway.request import Request
from infra.gateway.responses import GatewayResponses, RefusalError
from infra.gateway.routes import RouteSource, find_route, read_methods, read_routes
from infra.gateway.template import TemplateError, TemplateValues, properties_of

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path
    from types import ModuleType

    from infra.gateway.request import Answer, Header
    from infra.gateway.routes import AnyAuthorizer, Route

API_TYPES = ("AWS::Serverless::Api", "AWS::Serverless::HttpApi", "AWS::ApiGateway::RestApi")
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's hard limit on a REST API request payload
INTEGRATION_TIMEOUT_SECONDS = 29.0  # API Gateway's default (and, without a quota raise, maximum) integration timeout


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class LocalGateway:
    """`handle(method, path, headers, body, source_ip)` answers one request; `serialize_functions=False` lets
    invocations overlap (several Lambda environments) instead of queueing one at a time (see gateway.lambdas)."""

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
        serialize_functions: bool = True,
        issuer_keys: IssuerKeys | None = None,
    ) -> None:
        self.root = root.resolve()
        self.values = TemplateValues(template, env=env, overrides=parameters)
        self._log = log or _stderr
        if api is None:
            apis = resources_of_type(dict(template), "AWS::Serverless::Api")
            if len(apis) != 1:
                raise TemplateError(f"the template has {len(apis)} AWS::Serverless::Api resources: name one (api=...)")
            [api] = apis
        api_type = (template["Resources"].get(api) or {}).get("Type")
        if api_type not in API_TYPES:
            raise TemplateError(f"{api} is not one of {', '.join(API_TYPES)}")
        self.api = api
        self.is_http_api = api_type == "AWS::Serverless::HttpApi"
        api_properties = properties_of(template["Resources"][api])
        self.stage = self._stage(template, api_type, api_properties)
        if "Cors" in api_properties:
            self._log(f"local gateway: {api}'s Cors property is not reproduced (declare OPTIONS routes instead)")

        functions = read_functions(template, self.root, self.values)
        self.lambdas = Lambdas(functions, region=self.values.region, log=self._log, serialize=serialize_functions)
        self.functions = functions
        auth: Mapping[str, Any] = api_properties.get("Auth") or {}
        self.authorizers: dict[str, AnyAuthorizer] = {}
        if api_type == "AWS::Serverless::Api":
            self.authorizers |= read_authorizers(auth, self.values, functions)
        elif self.is_http_api:
            for name, spec in (auth.get("Authorizers") or {}).items():
                self.authorizers[name] = read_http_jwt_authorizer(name, spec, self.values)
        else:
            for name, resource in resources_of_type(dict(template), "AWS::ApiGateway::Authorizer").items():
                properties = properties_of(resource)
                if properties.get("RestApiId") == {"Ref": api}:
                    if properties.get("Type") != "JWT":
                        raise TemplateError(f"authorizer {name}: only JWT authorizers of a RestApi are reproduced")
                    self.authorizers[name] = read_rest_jwt_authorizer(name, properties, self.values)
        default = auth.get("DefaultAuthorizer")
        if default is not None and default not in self.authorizers:
            raise TemplateError(f"DefaultAuthorizer {default!r} is not among {api}'s Authorizers")
        source = RouteSource(
            api=api,
            authorizers=self.authorizers,
            default_authorizer=default,
            default_on_preflight=bool(auth.get("AddDefaultAuthorizerToCorsPreflight", True)),
            runnable=functions.keys(),
            event_type="HttpApi" if self.is_http_api else "Api",
            api_property="ApiId" if self.is_http_api else "RestApiId",
        )
        plain_rest = api_type == "AWS::ApiGateway::RestApi"
        self.routes = read_methods(template, source) if plain_rest else read_routes(template, source)
        self._warn_about_function_environments(template)
        self.authorization = TokenAuthorization(
            self.lambdas, region=self.values.region, stage=self.stage, clock=clock, log=self._log
        )
        self.jwt_authorization = JwtAuthorization(issuer_keys or IssuerKeys(clock=clock, log=self._log))
        self.responses = GatewayResponses(api_properties, self.values, self.stage)

    def _stage(self, template: Mapping[str, Any], api_type: str, properties: Mapping[str, Any]) -> str:
        if api_type == "AWS::Serverless::Api":
            return str(self.values.resolve(properties.get("StageName", "Prod")))
        if api_type == "AWS::Serverless::HttpApi":
            return str(self.values.resolve(properties.get("StageName", "$default")))
        stages = resources_of_type(dict(template), "AWS::ApiGateway::Stage").values()
        names = [
            properties_of(s).get("StageName") for s in stages if properties_of(s).get("RestApiId") == {"Ref": self.api}
        ]
        return str(self.values.resolve(names[0])) if names else "prod"

    def _warn_about_function_environments(self, template: Mapping[str, Any]) -> None:
        resources = template["Resources"]
        for logical_id in sorted({route.function for route in self.routes}):
            if (properties_of(resources[logical_id]).get("Environment") or {}).get("Variables"):
                self._log(f"local gateway: {logical_id}'s own Environment is not applied (one process, one env)")

    # -- handlers ----------------------------------------------------------------------------------------------

    def load_handlers(self) -> None:
        """Import the module of every function the API invokes now (as Lambda's init phase would), so the first
        requests aren't slow and a broken handler fails at start. Other functions (a rotation function, say) are
        left alone."""
        used = {route.function for route in self.routes}
        used |= {a.function for a in self.authorizers.values() if not isinstance(a, JwtAuthorizer)}
        for logical_id in sorted(used):
            self.lambdas.module(logical_id)

    def handler_module(self, logical_id: str) -> ModuleType:
        """The imported module of a function's handler (its `Handler` attribute is looked up on every call)."""
        return self.lambdas.module(logical_id)

    # -- requests ----------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: list[Header], body: bytes, source_ip: str) -> Answer:
        """One HTTP request, any method, as API Gateway answers it: (status, headers in order, body)."""
        started = time.perf_counter()
        path_only, _, query = path.partition("?")
        request = Request(method, path_only.partition("#")[0], query.partition("#")[0], headers, body, source_ip)
        try:
            answer = self._answer(request)
        except Exception:  # noqa: BLE001 - like API Gateway: whatever breaks becomes a 5xx gateway response
            self._log(f"local gateway: unexpected error:\n{traceback.format_exc().rstrip()}")
            answer = self.gateway_response("DEFAULT_5XX", request, status=500)
        self._log_request(request, answer[0], started)
        return answer

    def reject(self, response_type: str, method: str, path: str, headers: list[Header], source_ip: str) -> Answer:
        """A gateway response for a request the HTTP server refuses before reading it (e.g. REQUEST_TOO_LARGE)."""
        started = time.perf_counter()
        request = Request(method, path.partition("?")[0], "", headers, b"", source_ip)
        answer = self.gateway_response(response_type, request)
        self._log_request(request, answer[0], started)
        return answer

    def route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for this method and path, with its path parameters; None when API Gateway has none."""
        return find_route(self.routes, method, path)

    def gateway_response(self, response_type: str, request: Request, *, status: int | None = None) -> Answer:
        return self.responses.answer(response_type, request, status=status)

    def _log_request(self, request: Request, status: int, started: float) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        self._log(f"{request.method} {request.path} {status} {elapsed:.0f}ms {request.request_id}")

    def _answer(self, request: Request) -> Answer:
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return self.gateway_response("REQUEST_TOO_LARGE", request)
        matched = self.route(request.method, request.path)
        if matched is None and self.is_http_api:
            return 404, [("Content-Type", "application/json")], b'{"message":"Not Found"}'
        if matched is None:
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN", request)
        route, path_parameters = matched
        request.resource = route.resource
        try:
            answer = self._integration(request, route, path_parameters)
        except JwtRefusalError as refusal:
            return self._jwt_refusal(request, str(refusal))
        except RefusalError as refusal:
            return self.gateway_response(refusal.response_type, request, status=refusal.status)
        if time.time() - request.started > INTEGRATION_TIMEOUT_SECONDS:
            return self.gateway_response("INTEGRATION_TIMEOUT", request)
        return answer

    def _integration(self, request: Request, route: Route, path_parameters: dict[str, str]) -> Answer:
        """The authorizer (when the route has one), then the function; RefusalError for a gateway response."""
        authorizer = None
        event: dict[str, Any]
        if isinstance(route.authorizer, JwtAuthorizer):
            claims = self.jwt_authorization.verify(route.authorizer, request.header(route.authorizer.header))
            authorizer = {"claims": claims}  # REST: `$context.authorizer.claims`, each claim with its JSON type
        elif route.authorizer is not None:
            authorizer = self.authorization.authorize(route.authorizer, request)
        if self.is_http_api:
            event = http_api_event(request, route, path_parameters, (authorizer or {}).get("claims"), self.stage)
        else:
            event = proxy_event(request, route, path_parameters, authorizer, self.stage)
        try:
            result = self.lambdas.invoke(route.function, event, request.request_id)
        except InvocationError as exc:
            raise RefusalError("DEFAULT_5XX", 502) from exc
        answer = proxy_answer(result, request.request_id, lambda line: self._log(f"{route.function}: {line}"))
        if answer is None:
            raise RefusalError("DEFAULT_5XX", 502)
        return answer

    def _jwt_refusal(self, request: Request, description: str) -> Answer:
        """A JWT authorizer's refusal: a REST API's UNAUTHORIZED gateway response; an HTTP API's 401 with the reason
        in `www-authenticate` (the API Gateway developer guide, "Troubleshooting HTTP API JWT authorizers")."""
        if not self.is_http_api:
            return self.gateway_response("UNAUTHORIZED", request)
        if description == "the token is missing":
            challenge = "Bearer"  # RFC 6750 s3.1: no error code when the request carries no token
        else:
            challenge = f'Bearer scope="" error="invalid_token" error_description={json.dumps(description)}'
        headers = [("Content-Type", "application/json"), ("www-authenticate", challenge)]
        return 401, [*headers, ("apigw-requestid", request.request_id)], b'{"message":"Unauthorized"}'

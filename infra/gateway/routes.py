"""The API's routes, read from every function's `Api` events, and how API Gateway picks one for a request.

A route is a method (or `ANY`) on a resource path with `{param}` and greedy `{proxy+}` segments. A path nothing
matches exactly, a known path with another method, and a method API Gateway doesn't have all find no route: the
gateway then answers MISSING_AUTHENTICATION_TOKEN. The API's `DefaultAuthorizer` guards every route whose event
doesn't say `Auth: {Authorizer: NONE}`, explicit OPTIONS routes excepted when `AddDefaultAuthorizerToCorsPreflight`
is false, as SAM does.

The same reading serves an HTTP API (`HttpApi` events, `ApiId`) and, for a REST API written as plain CloudFormation
(`AWS::ApiGateway::RestApi`), its `AWS::ApiGateway::Method` resources with Lambda proxy integrations.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.cfn import resources_of_type
from infra.gateway.template import TemplateError, properties_of

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from infra.gateway.authorizers import Authorizer
    from infra.gateway.jwt_authorizers import JwtAuthorizer

    type AnyAuthorizer = Authorizer | JwtAuthorizer

# The methods a REST API resource can have; `ANY` stands for all of them, and nothing else reaches an integration.
# Methods are case-sensitive (RFC 9110 s9.1): `get` is not GET.
HTTP_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})


@dataclass(frozen=True)
class Route:
    method: str  # upper case, or "ANY"
    resource: str  # the template's path: "/admin/users/{user_id}"
    function: str  # logical id of the function it invokes
    authorizer: AnyAuthorizer | None

    @property
    def segments(self) -> tuple[str, ...]:
        return _segments(self.resource)

    @property
    def resource_id(self) -> str:
        return hashlib.sha256(self.resource.encode()).hexdigest()[:6]


@dataclass(frozen=True)
class RouteSource:
    """What reading the routes needs from the rest of the template."""

    api: str  # logical id of the AWS::Serverless::Api (or HttpApi, or AWS::ApiGateway::RestApi)
    authorizers: Mapping[str, AnyAuthorizer]
    default_authorizer: str | None
    default_on_preflight: bool
    runnable: Collection[str]  # the functions the gateway can run
    event_type: str = "Api"  # "HttpApi" for an HTTP API
    api_property: str = "RestApiId"  # "ApiId" for an HTTP API


def read_routes(template: Mapping[str, Any], source: RouteSource) -> list[Route]:
    """Every `Api` event of every function that belongs to this API, as a route; TemplateError on a conflict."""
    routes: list[Route] = []
    for logical_id, resource in resources_of_type(dict(template), "AWS::Serverless::Function").items():
        for event_name, event in (properties_of(resource).get("Events") or {}).items():
            properties = properties_of(event)
            api = properties.get(source.api_property)
            if event.get("Type") != source.event_type or (api is not None and api != {"Ref": source.api}):
                continue
            method = str(properties["Method"]).upper()
            authorizer = _authorizer(source, method, properties, f"{logical_id}.{event_name}")
            _add(routes, source, Route(method, str(properties["Path"]), logical_id, authorizer))
    return routes


def _add(routes: list[Route], source: RouteSource, route: Route) -> None:
    if route.function not in source.runnable:
        raise TemplateError(f"{route.function}: a local CodeUri and a module.function Handler are needed")
    if any(r.method == route.method and r.resource == route.resource for r in routes):
        raise TemplateError(f"{route.method} {route.resource} is declared twice")
    routes.append(route)


def read_methods(template: Mapping[str, Any], source: RouteSource) -> list[Route]:
    """Every `AWS::ApiGateway::Method` of a plain-CloudFormation REST API, as a route: its path from the
    `AWS::ApiGateway::Resource` chain, its function from the Lambda proxy integration's Uri."""
    resources: Mapping[str, Any] = template["Resources"]
    routes: list[Route] = []
    for logical_id, method in resources_of_type(dict(template), "AWS::ApiGateway::Method").items():
        properties = properties_of(method)
        if properties.get("RestApiId") != {"Ref": source.api}:
            continue
        integration = properties.get("Integration") or {}
        uri = integration.get("Uri") or {}
        sub = uri.get("Fn::Sub") if isinstance(uri, dict) else None
        found = re.search(r"\$\{(\w+)\.Arn\}/invocations$", sub) if isinstance(sub, str) else None
        if integration.get("Type") != "AWS_PROXY" or found is None:
            raise TemplateError(f"{logical_id}: only Lambda proxy integrations (!Sub ...${{Function.Arn}}/invocations)")
        authorizer = None
        if properties.get("AuthorizationType", "NONE") != "NONE":
            chosen = str((properties.get("AuthorizerId") or {}).get("Ref"))
            if chosen not in source.authorizers:
                raise TemplateError(f"{logical_id}: its AuthorizerId must !Ref one of {sorted(source.authorizers)}")
            authorizer = source.authorizers[chosen]
        path = _resource_path(resources, properties.get("ResourceId"), source.api, logical_id)
        _add(routes, source, Route(str(properties["HttpMethod"]).upper(), path, found.group(1), authorizer))
    return routes


def _resource_path(resources: Mapping[str, Any], resource_id: Any, api: str, where: str) -> str:
    if resource_id == {"Fn::GetAtt": [api, "RootResourceId"]}:
        return "/"
    resource = resources.get(str(resource_id.get("Ref"))) if isinstance(resource_id, dict) else None
    if resource is None or resource.get("Type") != "AWS::ApiGateway::Resource":
        raise TemplateError(f"{where}: ResourceId must be !Ref an AWS::ApiGateway::Resource or the root resource")
    properties = properties_of(resource)
    parent = _resource_path(resources, properties.get("ParentId"), api, where)
    return parent.rstrip("/") + "/" + str(properties["PathPart"])


def _authorizer(source: RouteSource, method: str, properties: Mapping[str, Any], where: str) -> AnyAuthorizer | None:
    chosen = (properties.get("Auth") or {}).get("Authorizer")
    if chosen is None:
        chosen = source.default_authorizer if (method != "OPTIONS" or source.default_on_preflight) else None
    if chosen in (None, "NONE"):
        return None
    if chosen not in source.authorizers:
        raise TemplateError(f"{where}: unknown authorizer {chosen!r}")
    return source.authorizers[chosen]


def find_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for this method and path, with its path parameters; None when API Gateway has none."""
    if method not in HTTP_METHODS or not path.startswith("/"):
        return None
    segments = _segments(path)
    candidates = [(route, _match(route.segments, segments)) for route in routes]
    matching = [(route, params) for route, params in candidates if params is not None]
    if not matching:
        return None
    # The most specific resource that matches is the one; its method (or ANY) must then fit, no other resource.
    best = min(_specificity(route.segments) for route, _ in matching)
    resource = [(route, params) for route, params in matching if _specificity(route.segments) == best]
    for wanted in (method, "ANY"):
        for route, params in resource:
            if route.method == wanted:
                return route, params
    return None


def _segments(path: str) -> tuple[str, ...]:
    if path in ("", "/"):
        return ()
    return tuple(path.removeprefix("/").split("/"))


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

"""The API's routes, read from every function's `Api` events, and how API Gateway picks one for a request.

A route is a method (or `ANY`) on a resource path with `{param}` and greedy `{proxy+}` segments. A path nothing
matches exactly, a known path with another method, and a method API Gateway doesn't have all find no route: the
gateway then answers MISSING_AUTHENTICATION_TOKEN. The API's `DefaultAuthorizer` guards every route whose event
doesn't say `Auth: {Authorizer: NONE}`, explicit OPTIONS routes excepted when `AddDefaultAuthorizerToCorsPreflight`
is false, as SAM does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.cfn import resources_of_type
from infra.gateway.template import TemplateError, properties_of

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from infra.gateway.authorizers import Authorizer

# The methods a REST API resource can have; `ANY` stands for all of them, and nothing else reaches an integration.
# Methods are case-sensitive (RFC 9110 s9.1): `get` is not GET.
HTTP_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})


@dataclass(frozen=True)
class Route:
    method: str  # upper case, or "ANY"
    resource: str  # the template's path: "/admin/users/{user_id}"
    function: str  # logical id of the function it invokes
    authorizer: Authorizer | None

    @property
    def segments(self) -> tuple[str, ...]:
        return _segments(self.resource)

    @property
    def resource_id(self) -> str:
        return hashlib.sha256(self.resource.encode()).hexdigest()[:6]


@dataclass(frozen=True)
class RouteSource:
    """What reading the routes needs from the rest of the template."""

    api: str  # logical id of the AWS::Serverless::Api
    authorizers: Mapping[str, Authorizer]
    default_authorizer: str | None
    default_on_preflight: bool
    runnable: Collection[str]  # the functions the gateway can run


def read_routes(template: Mapping[str, Any], source: RouteSource) -> list[Route]:
    """Every `Api` event of every function that belongs to this API, as a route; TemplateError on a conflict."""
    routes: list[Route] = []
    for logical_id, resource in resources_of_type(dict(template), "AWS::Serverless::Function").items():
        for event_name, event in (properties_of(resource).get("Events") or {}).items():
            properties = properties_of(event)
            rest_api = properties.get("RestApiId")
            if event.get("Type") != "Api" or (rest_api is not None and rest_api != {"Ref": source.api}):
                continue
            method = str(properties["Method"]).upper()
            route = Route(
                method=method,
                resource=str(properties["Path"]),
                function=logical_id,
                authorizer=_authorizer(source, method, properties, f"{logical_id}.{event_name}"),
            )
            if logical_id not in source.runnable:
                raise TemplateError(f"{logical_id}: a local CodeUri and a module.function Handler are needed")
            if any(r.method == route.method and r.resource == route.resource for r in routes):
                raise TemplateError(f"{route.method} {route.resource} is declared twice")
            routes.append(route)
    return routes


def _authorizer(source: RouteSource, method: str, properties: Mapping[str, Any], where: str) -> Authorizer | None:
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

"""The template's values as the gateway sees them: parameters (defaults, overrides, the environment) and `!Ref`."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

ACCOUNT_ID = "123456789012"
API_ID = "local"
DEFAULT_REGION = "us-east-1"


class TemplateError(ValueError):
    """The template describes something the local gateway can't serve (with the reason)."""


def parameter_env_name(parameter: str) -> str:
    """The environment variable that overrides a template parameter: `AuthorizerCacheTtlSeconds` ->
    `AUTHORIZER_CACHE_TTL_SECONDS` (the names the template's Globals already give the settings)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", parameter).upper()


def properties_of(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    """A resource's (or an event's) `Properties`, empty when the template leaves them out."""
    properties: Mapping[str, Any] = resource.get("Properties") or {}
    return properties


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
        self._env: Mapping[str, str] = os.environ if env is None else env
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

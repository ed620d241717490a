"""The API's TOKEN authorizers: read from the template, run in front of the routes they guard, results cached.

API Gateway does not call the authorizer without the identity header (or with one its ValidationExpression refuses):
that is UNAUTHORIZED. The authorizer raising "Unauthorized" is UNAUTHORIZED too, any other raise is
AUTHORIZER_FAILURE, an answer it can't use is AUTHORIZER_CONFIGURATION_ERROR, and a policy that doesn't allow the
method ARN is ACCESS_DENIED, with the authorizer's context in `$context.authorizer.*`. An Allow is cached by token
for `ReauthorizeEvery` seconds (300 when unset, as API Gateway; 0 turns the cache off).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.gateway.lambdas import InvocationError
from infra.gateway.policy import Policy, policy_of
from infra.gateway.responses import RefusalError
from infra.gateway.template import ACCOUNT_ID, API_ID, TemplateError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from infra.gateway.lambdas import Lambdas
    from infra.gateway.request import Request
    from infra.gateway.template import TemplateValues

DEFAULT_TTL_SECONDS = 300  # API Gateway's authorizerResultTtlInSeconds when ReauthorizeEvery is unset
CACHE_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Authorizer:
    name: str
    function: str  # logical id of the authorizer's function
    header: str
    ttl_seconds: int
    validation: re.Pattern[str] | None = None


def read_authorizers(
    auth: Mapping[str, Any], values: TemplateValues, functions: Mapping[str, Any]
) -> dict[str, Authorizer]:
    """The `Auth.Authorizers` of an `AWS::Serverless::Api`, by name; TemplateError for what isn't reproduced."""
    return {name: _authorizer(name, spec, values, functions) for name, spec in (auth.get("Authorizers") or {}).items()}


def _authorizer(name: str, spec: Mapping[str, Any], values: TemplateValues, functions: Mapping[str, Any]) -> Authorizer:
    if "UserPoolArn" in spec:
        raise TemplateError(f"authorizer {name}: Cognito authorizers are not reproduced locally")
    if str(spec.get("FunctionPayloadType", "TOKEN")).upper() != "TOKEN":
        raise TemplateError(f"authorizer {name}: only TOKEN authorizers are reproduced locally")
    arn = spec.get("FunctionArn")
    if isinstance(arn, dict) and "Fn::GetAtt" in arn and list(arn["Fn::GetAtt"])[1:] == ["Arn"]:
        function = str(arn["Fn::GetAtt"][0])
    elif isinstance(arn, dict) and str(arn.get("Ref", "")).endswith(".Alias"):  # SAM's alias of AutoPublishAlias
        function = str(arn["Ref"]).removesuffix(".Alias")
    else:
        raise TemplateError(f"authorizer {name}: FunctionArn must be !GetAtt <Function>.Arn or !Ref <Function>.Alias")
    if function not in functions:
        raise TemplateError(f"authorizer {name}: {function} has no local CodeUri and module.function Handler")
    identity = spec.get("Identity") or {}
    expression = values.resolve(identity.get("ValidationExpression"))
    return Authorizer(
        name=name,
        function=function,
        header=str(values.resolve(identity.get("Header", "Authorization"))),
        ttl_seconds=int(values.resolve(identity.get("ReauthorizeEvery", DEFAULT_TTL_SECONDS))),
        validation=re.compile(expression) if expression else None,
    )


class TokenAuthorization:
    """Runs an authorizer for a request, as API Gateway does, with its result cache."""

    def __init__(
        self, lambdas: Lambdas, *, region: str, stage: str, clock: Callable[[], float], log: Callable[[str], None]
    ) -> None:
        self._lambdas = lambdas
        self._arn_prefix = f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{API_ID}/{stage}"
        self._clock = clock
        self._log = log
        self._cache_lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, Policy]] = {}

    def authorize(self, authorizer: Authorizer, request: Request) -> dict[str, Any]:
        """`requestContext.authorizer` for the integration, or RefusalError with the gateway response to send."""
        token = request.header(authorizer.header)
        if token is None or not token.strip():
            raise RefusalError("UNAUTHORIZED")
        if authorizer.validation is not None and not authorizer.validation.fullmatch(token):
            raise RefusalError("UNAUTHORIZED")
        method_arn = f"{self._arn_prefix}/{request.method}/{request.path.removeprefix('/')}"
        latency = 0
        policy = self._cached(authorizer, token)
        if policy is None:
            started = time.perf_counter()
            policy = self._run(authorizer, token, method_arn)
            latency = round((time.perf_counter() - started) * 1000)
            self._remember(authorizer, token, policy)
        request.authorizer_context = {"principalId": policy.principal_id, **policy.context}
        if not policy.allows(method_arn):
            raise RefusalError("ACCESS_DENIED")
        return {"principalId": policy.principal_id, **policy.context, "integrationLatency": latency}

    def _run(self, authorizer: Authorizer, token: str, method_arn: str) -> Policy:
        event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        try:
            result = self._lambdas.invoke(authorizer.function, event, str(uuid.uuid4()))
        except InvocationError as exc:
            # Lambda authorizers answer API Gateway's own 401 by raising exactly "Unauthorized".
            raise RefusalError("UNAUTHORIZED" if str(exc) == "Unauthorized" else "AUTHORIZER_FAILURE") from exc
        policy = policy_of(result)
        if policy is None:
            self._log(f"{authorizer.function}: the authorizer's answer is not a valid policy")
            raise RefusalError("AUTHORIZER_CONFIGURATION_ERROR")
        return policy

    def _cached(self, authorizer: Authorizer, token: str) -> Policy | None:
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

    def _remember(self, authorizer: Authorizer, token: str, policy: Policy) -> None:
        if authorizer.ttl_seconds <= 0:
            return
        now = self._clock()
        with self._cache_lock:
            if len(self._cache) >= CACHE_MAX_ENTRIES:  # bounded: expired entries go first, then the oldest
                self._cache = {key: entry for key, entry in self._cache.items() if entry[0] > now}
                while len(self._cache) >= CACHE_MAX_ENTRIES:
                    del self._cache[next(iter(self._cache))]
            self._cache[(authorizer.name, token)] = (now + authorizer.ttl_seconds, policy)

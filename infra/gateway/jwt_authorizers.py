"""API Gateway's native JWT authorizers, read from a template's JwtConfiguration and run here with PyJWT.

Two forms: a REST API's `AWS::ApiGateway::Authorizer` of `Type: JWT` (`DefaultAlgorithms`, `Issuers` each with its
`Audiences`) and an HTTP API's `Auth.Authorizers.<name>.JwtConfiguration` (`issuer`, `audience`), for which AWS
documents RSA algorithms only. As API Gateway does, the gateway reads the issuer's `/.well-known/openid-configuration`,
then its `jwks_uri`, and accepts a token only when its algorithm is allowed, the key its `kid` names verifies its
signature, and its `iss`, `aud`, `exp` and `nbf` hold (a small leeway for clock skew).

Keys come only from the configured issuer's discovery document, never from the token (RFC 8725 s3.10: no `jku`,
`x5u` or embedded key is followed). The key sets are cached for KEYS_MAX_AGE_SECONDS with at most MAX_KEYS keys, each
fetch has a timeout and a size limit, and a `kid` the cached set doesn't know refetches it at most once per
REFETCH_INTERVAL_SECONDS per issuer, so made-up `kid`s can't turn the gateway into a JWKS hammer. Scopes
(`AuthorizationScopes`) are not reproduced.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jwt

from infra.gateway.template import TemplateError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from infra.gateway.template import TemplateValues

# "Currently, only RSA-based algorithms are supported" (API Gateway developer guide, HTTP API JWT authorizers).
HTTP_API_ALGORITHMS = ("RS256", "RS384", "RS512")
# The values JwtConfiguration.DefaultAlgorithms accepts (API Gateway API reference, JwtConfiguration).
REST_API_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"})
LEEWAY_SECONDS = 5  # clock skew allowed on exp and nbf (RFC 7519 s4.1.4: "some small leeway")
FETCH_TIMEOUT_SECONDS = 3.0
MAX_DOCUMENT_BYTES = 64 * 1024
KEYS_MAX_AGE_SECONDS = 300.0
REFETCH_INTERVAL_SECONDS = 30.0
MAX_KEYS = 16
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class JwtAuthorizer:
    name: str
    issuers: Mapping[str, tuple[str, ...]]  # issuer -> the audiences accepted from it
    algorithms: tuple[str, ...]
    header: str
    http_api: bool  # refusals answered as an HTTP API does (else as a REST API)


class JwtRefusalError(Exception):
    """The token is refused; the message is the `error_description` an HTTP API would send."""


class KeySetUnavailableError(Exception):
    """The issuer's discovery document or key set could not be read or is not acceptable."""


def _identity_header(source: Any, prefix: str, name: str) -> str:
    text = str(source)
    if not text.startswith(prefix):
        raise TemplateError(f"authorizer {name}: IdentitySource must be {prefix}<name>, not {text!r}")
    return text.removeprefix(prefix)


def read_rest_jwt_authorizer(name: str, properties: Mapping[str, Any], values: TemplateValues) -> JwtAuthorizer:
    """An `AWS::ApiGateway::Authorizer` of `Type: JWT`."""
    configuration = properties.get("JwtConfiguration") or {}
    algorithms = tuple(str(values.resolve(a)) for a in configuration.get("DefaultAlgorithms") or ())
    if not algorithms or not set(algorithms) <= REST_API_ALGORITHMS:
        raise TemplateError(f"authorizer {name}: DefaultAlgorithms must be among {sorted(REST_API_ALGORITHMS)}")
    issuers = {
        str(values.resolve(entry["Issuer"])): tuple(str(values.resolve(a)) for a in entry.get("Audiences") or ())
        for entry in configuration.get("Issuers") or ()
    }
    if not issuers or not all(issuers.values()):
        raise TemplateError(f"authorizer {name}: JwtConfiguration needs Issuers, each with Audiences")
    header = _identity_header(properties.get("IdentitySource"), "method.request.header.", name)
    return JwtAuthorizer(name, issuers, algorithms, header, http_api=False)


def read_http_jwt_authorizer(name: str, spec: Mapping[str, Any], values: TemplateValues) -> JwtAuthorizer:
    """An `AWS::Serverless::HttpApi`'s `Auth.Authorizers.<name>` with a JwtConfiguration."""
    configuration = spec.get("JwtConfiguration") or {}
    issuer = values.resolve(configuration.get("issuer"))
    audiences = tuple(str(values.resolve(a)) for a in configuration.get("audience") or ())
    if not issuer or not audiences:
        raise TemplateError(f"authorizer {name}: JwtConfiguration needs issuer and audience")
    header = _identity_header(spec.get("IdentitySource", "$request.header.Authorization"), "$request.header.", name)
    return JwtAuthorizer(name, {str(issuer): audiences}, HTTP_API_ALGORITHMS, header, http_api=True)


def _check_url(url: Any) -> str:
    """Discovery and keys come over https (OpenID Connect Discovery 1.0 s4); plain http only on this machine."""
    parts = urlsplit(str(url))
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
        return str(url)
    raise KeySetUnavailableError(f"not an https URL: {url!r}")


def fetch_json(url: str) -> Any:
    """A JSON document over http(s), with a timeout and a size limit."""
    request = urllib.request.Request(_check_url(url), headers={"Accept": "application/json"})  # noqa: S310 - http(s)
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 - http(s)
            _check_url(response.geturl())  # a redirect must not leave https either
            raw = response.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise KeySetUnavailableError(f"{url}: {exc}") from None
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise KeySetUnavailableError(f"{url}: larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        return json.loads(raw)
    except ValueError:
        raise KeySetUnavailableError(f"{url}: not JSON") from None


@dataclass
class _KeySet:
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetched_at: float = float("-inf")  # the last successful fetch
    tried_at: float = float("-inf")  # the last attempt, successful or not


class IssuerKeys:
    """The public keys of each issuer, from its discovery document's `jwks_uri`, cached."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        fetch: Callable[[str], Any] = fetch_json,
        log: Callable[[str], None] = print,
    ) -> None:
        self._clock = clock
        self._fetch = fetch
        self._log = log
        self._lock = threading.Lock()
        self._sets: dict[str, _KeySet] = {}
        self.fetches = 0  # key-set downloads so far (what the refetch bound is about)

    def key(self, issuer: str, kid: str) -> jwt.PyJWK | None:
        with self._lock:  # one fetch at a time: concurrent requests wait for it instead of fetching too
            entry = self._sets.setdefault(issuer, _KeySet())
            now = self._clock()
            stale = now - entry.fetched_at > KEYS_MAX_AGE_SECONDS
            unknown = kid not in entry.keys
            if (stale or unknown) and now - entry.tried_at >= REFETCH_INTERVAL_SECONDS:
                entry.tried_at = now
                try:
                    entry.keys, entry.fetched_at = self._load(issuer), now
                except KeySetUnavailableError as exc:
                    self._log(f"local gateway: the keys of {issuer} are unavailable: {exc}")
            if now - entry.fetched_at > KEYS_MAX_AGE_SECONDS:
                return None  # keys older than the bound are not trusted, even when a refetch failed
            return entry.keys.get(kid)

    def _load(self, issuer: str) -> dict[str, jwt.PyJWK]:
        self.fetches += 1
        discovery = self._fetch(issuer.rstrip("/") + "/.well-known/openid-configuration")
        # OpenID Connect Discovery 1.0 s4.3: the document's issuer must be exactly the one configured.
        if not isinstance(discovery, dict) or discovery.get("issuer") != issuer:
            raise KeySetUnavailableError("the discovery document names another issuer")
        document = self._fetch(_check_url(discovery.get("jwks_uri")))
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise KeySetUnavailableError("the key set has no keys array")
        keys: dict[str, jwt.PyJWK] = {}
        for entry in entries[:MAX_KEYS]:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str) or entry.get("use", "sig") != "sig":
                continue
            try:
                keys[entry["kid"]] = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key this gateway can't use (another kty, a symmetric key) verifies nothing
        return keys


class JwtAuthorization:
    """Verifies a request's token for a JwtAuthorizer; its claims, or JwtRefusalError."""

    def __init__(self, keys: IssuerKeys) -> None:
        self.keys = keys

    def verify(self, authorizer: JwtAuthorizer, value: str | None) -> dict[str, Any]:
        # "The identitySource can include only the token, or the token prefixed with Bearer."
        token = (value or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            raise JwtRefusalError("the token is missing")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise JwtRefusalError("the token is malformed") from None
        # RFC 8725 s3.1: only the configured algorithms; `none` and HS* (a public key used as an HMAC secret) never.
        if header.get("alg") not in authorizer.algorithms:
            raise JwtRefusalError("the token's algorithm is not allowed")
        issuer = unverified.get("iss")
        audiences = authorizer.issuers.get(issuer) if isinstance(issuer, str) else None
        if not isinstance(issuer, str) or audiences is None:  # RFC 8725 s3.8
            raise JwtRefusalError("the token does not have a valid issuer")
        kid = header.get("kid")
        key = self.keys.key(issuer, kid) if isinstance(kid, str) and kid else None
        if key is None:
            raise JwtRefusalError("no key of the issuer matches the token's kid")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[header["alg"]],
                audience=list(audiences),  # RFC 8725 s3.9
                issuer=issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise JwtRefusalError("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise JwtRefusalError("the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise JwtRefusalError("the token does not have a valid audience") from None
        except jwt.PyJWTError:
            raise JwtRefusalError("the token's signature or claims are invalid") from None
        return claims

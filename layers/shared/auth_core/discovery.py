"""The two public documents other services use to verify our access tokens without any secret: the JWKS (RFC 7517)
of the keys the registry publishes, and an OpenID discovery document (OpenID Connect Discovery 1.0 s3) naming it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from auth_core.es256 import ALGORITHM

if TYPE_CHECKING:
    from collections.abc import Callable

    from auth_core.public_keys import PublicKeys

JWKS_PATH = "/.well-known/jwks.json"
# The JWKS function reads the registry at every request: one strongly consistent GetItem of one small item (one read
# unit, a few milliseconds), so a key an emergency rotation dropped leaves the document at once and the only delay left
# is the consumers' cache (max-age below). A cache here would save next to nothing: each consumer fetches the document
# at most once per max-age, and API Gateway's stage throttle (50 requests/s a method, template.yaml) keeps even a flood
# of it far below the read limit of the registry item's partition (3,000 strongly consistent reads/s) that every
# login, refresh and authorizer check shares. During a DynamoDB outage it serves the last registry it read
# (auth_core.public_keys, stale-if-error).
JWKS_CACHE_SECONDS = 0
# The public documents may be cached for a few minutes (CONTRACT.md, Headers): a verifier that meets a kid it doesn't
# know fetches the JWKS again (PyJWKClient and API Gateway's JWT authorizers do).
PUBLIC_CACHE_CONTROL = "public, max-age=300"
_PUBLIC_MEMBERS = ("kty", "crv", "x", "y", "kid", "alg", "use")


class Discovery:
    def __init__(
        self, public_keys: PublicKeys, *, issuer: Callable[[], str], clock: Callable[[], float] = time.time
    ) -> None:
        self._public_keys = public_keys
        self._issuer = issuer
        self._clock = clock

    def jwks(self) -> dict[str, Any]:
        """The current key and every previous key whose tokens may still be alive; public members only."""
        keys = self._public_keys.key_set().published(self._clock())
        return {"keys": [{name: key.jwk[name] for name in _PUBLIC_MEMBERS} for key in keys]}

    def openid_configuration(self) -> dict[str, Any]:
        issuer = self._issuer()
        return {
            "issuer": issuer,
            "jwks_uri": issuer + JWKS_PATH,
            # We issue access tokens (RFC 9068), no ID tokens; OIDC libraries and API Gateway read the signing
            # algorithm from here all the same.
            "id_token_signing_alg_values_supported": [ALGORITHM],
            # Required members of the document; this service has no OAuth authorization endpoint (tokens come from
            # POST /auth/login), so they describe what there is: bearer tokens for a public subject identifier.
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "token_endpoint_auth_methods_supported": ["none"],
            "claims_supported": ["iss", "aud", "sub", "email", "role", "sid", "iat", "exp", "jti"],
        }

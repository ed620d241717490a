"""GET /.well-known/jwks.json and GET /.well-known/openid-configuration: public, cacheable for a few minutes."""

from auth_core import container
from auth_core.discovery import PUBLIC_CACHE_CONTROL
from auth_core.http import JSON, Response, build_resolver, entry_point
from auth_core.models import JwksResponse, OpenIdConfiguration

app = build_resolver()
CACHEABLE = {"Cache-Control": PUBLIC_CACHE_CONTROL}


@app.get("/.well-known/jwks.json", summary="The public keys that verify access tokens (JWKS)", tags=["keys"])
def jwks() -> Response[JwksResponse]:
    body = JwksResponse.model_validate(container.discovery().jwks())
    return Response(200, JSON, body, headers=CACHEABLE)


@app.get("/.well-known/openid-configuration", summary="OpenID discovery document", tags=["keys"])
def openid_configuration() -> Response[OpenIdConfiguration]:
    body = OpenIdConfiguration.model_validate(container.discovery().openid_configuration())
    return Response(200, JSON, body, headers=CACHEABLE)


handler = entry_point(app)

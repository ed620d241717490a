"""POST /auth/refresh: a new token pair for a refresh token (cookie or body), which is rotated out."""

from typing import Annotated

from auth_core import container
from auth_core.errors import MissingTokenError
from auth_core.http import Body, Response, build_resolver, entry_point, refresh_token_from, token_pair_response
from auth_core.models import RefreshRequest, TokenPair

app = build_resolver()


@app.post("/auth/refresh", summary="Rotate the refresh token", tags=["auth"])
def refresh(request: Annotated[RefreshRequest | None, Body()] = None) -> Response[TokenPair]:
    token = refresh_token_from(app, request.refresh_token if request else None)
    if token is None:  # no credentials at all: RFC 6750 s3.1 answers 401 without an error code, as missing_token does
        raise MissingTokenError(
            "You are not signed in: send the refresh token in the refresh_token cookie or the body."
        )
    return token_pair_response(container.auth_service().refresh(refresh_token=token))


handler = entry_point(app)

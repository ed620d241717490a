"""POST /auth/logout (this session) and POST /auth/logout-all (every session of the caller)."""

from typing import Annotated

from auth_core import container
from auth_core.access import bearer_token
from auth_core.errors import ServiceError
from auth_core.http import (
    Body,
    Response,
    bearer_header,
    build_resolver,
    caller,
    cleared_refresh_cookie,
    entry_point,
    refresh_token_from,
)
from auth_core.models import RefreshRequest

app = build_resolver()


@app.post(
    "/auth/logout", summary="Sign out of this session", tags=["auth"], responses={204: {"description": "Signed out"}}
)
# No return annotation on these two: a 204 has no body for the resolver to validate.
def logout(request: Annotated[RefreshRequest | None, Body()] = None):
    refresh_token = refresh_token_from(app, request.refresh_token if request else None)
    try:
        access_token: str | None = bearer_token(bearer_header(app))
    except ServiceError:
        access_token = None  # logout needs no bearer; a missing or unusable one just isn't denylisted
    container.auth_service().logout(refresh_token=refresh_token, access_token=access_token)
    return Response(204, None, "", cookies=[cleared_refresh_cookie()])


@app.post(
    "/auth/logout-all",
    summary="Sign out of every session",
    tags=["auth"],
    responses={204: {"description": "Signed out"}},
)
def logout_all():
    principal = caller(app)
    container.auth_service().logout_all(user_id=principal.sub, email=principal.email)
    return Response(204, None, "", cookies=[cleared_refresh_cookie()])


handler = entry_point(app)

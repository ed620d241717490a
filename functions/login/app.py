"""POST /auth/login: a token pair, the refresh token in its HttpOnly cookie, and the known-device cookie."""

from typing import Annotated

from auth_core import container
from auth_core.http import Body, Response, build_resolver, client_of, entry_point, token_pair_response
from auth_core.models import LoginRequest, TokenPair

app = build_resolver()


@app.post("/auth/login", summary="Sign in", tags=["auth"])
def login(request: Annotated[LoginRequest, Body()]) -> Response[TokenPair]:
    issued = container.auth_service().login(email=request.email, password=request.password, client=client_of(app))
    return token_pair_response(issued)


handler = entry_point(app)

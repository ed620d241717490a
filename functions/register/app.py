"""POST /auth/register: a new account."""

from typing import Annotated

from auth_core import container
from auth_core.http import JSON, Body, Response, build_resolver, entry_point
from auth_core.models import RegisterRequest, User, UserResponse

app = build_resolver()


@app.post(
    "/auth/register",
    summary="Create an account",
    tags=["auth"],
    responses={201: {"description": "Created", "content": {"application/json": {"model": UserResponse}}}},
)
def register(request: Annotated[RegisterRequest, Body()]) -> Response[UserResponse]:
    user = container.account_service().register(email=request.email, password=request.password)
    return Response(201, JSON, UserResponse(user=User.of(user)))


handler = entry_point(app)

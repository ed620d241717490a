"""The admin routes: list users, read one, change a role or a status. Role `admin` only."""

from typing import Annotated

from auth_core import container
from auth_core.http import JSON, Body, Path, Query, Response, build_resolver, entry_point, require_role
from auth_core.models import UpdateUserRequest, User, UserListResponse, UserResponse

app = build_resolver()

UserId = Annotated[str, Path(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


@app.get("/admin/users", summary="List users, a page at a time", tags=["admin"])
def list_users(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=2048,
            description="The previous page's `next_cursor`, exactly as returned. It is opaque (sealed by the "
            "service); any other value is `400 validation_error`.",
        ),
    ] = None,
) -> Response[UserListResponse]:
    require_role(app, "admin")
    users, next_cursor = container.admin_service().list_users(limit=limit, cursor=cursor)
    body = UserListResponse(users=[User.of(user) for user in users], next_cursor=next_cursor)
    return Response(200, JSON, body)


@app.get("/admin/users/<user_id>", summary="One user", tags=["admin"])
def get_user(user_id: UserId) -> Response[UserResponse]:
    require_role(app, "admin")
    user = container.admin_service().get_user(user_id=user_id)
    return Response(200, JSON, UserResponse(user=User.of(user)))


@app.patch("/admin/users/<user_id>", summary="Change a user's role or status", tags=["admin"])
def update_user(user_id: UserId, request: Annotated[UpdateUserRequest, Body()]) -> Response[UserResponse]:
    actor = require_role(app, "admin")
    user = container.admin_service().update_user(
        actor_id=actor.sub, user_id=user_id, role=request.role, status=request.status
    )
    return Response(200, JSON, UserResponse(user=User.of(user)))


handler = entry_point(app)

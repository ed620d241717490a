"""GET /me: the caller's own account, the "dashboard"."""

from aws_lambda_powertools.event_handler import Response

from auth_core import container
from auth_core.http import JSON, build_resolver, caller, entry_point
from auth_core.models import MeResponse, User

app = build_resolver()


@app.get("/me", summary="The signed-in user", tags=["users"])
def me() -> Response[MeResponse]:
    user = container.auth_service().current_user(user_id=caller(app).sub)
    body = MeResponse(user=User.of(user), message=f"Welcome {user.email}, to your secure dashboard.")
    return Response(200, JSON, body)


handler = entry_point(app)

"""GET /me (the caller's own account, the "dashboard"), and the caller's sessions: list them, end one."""

from typing import Annotated

from auth_core import container
from auth_core.http import JSON, Path, Response, build_resolver, caller, entry_point
from auth_core.models import MeResponse, SessionsResponse, SessionView, User

app = build_resolver()

SessionId = Annotated[str, Path(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


@app.get("/me", summary="The signed-in user", tags=["users"])
def me() -> Response[MeResponse]:
    principal = caller(app)
    user = container.auth_service().current_user(user_id=principal.sub, email=principal.email)
    body = MeResponse(user=User.of(user), message=f"Welcome {user.email}, to your secure dashboard.")
    return Response(200, JSON, body)


@app.get("/me/sessions", summary="Your live sessions, newest first", tags=["users"])
def list_sessions() -> Response[SessionsResponse]:
    principal = caller(app)
    sessions = container.account_service().sessions(user_id=principal.sub, email=principal.email)
    body = SessionsResponse(sessions=[SessionView.of(session, current_id=principal.sid) for session in sessions])
    return Response(200, JSON, body)


@app.delete(
    "/me/sessions/<session_id>",
    summary="End one of your sessions",
    tags=["users"],
    responses={204: {"description": "Ended"}},
)
def end_session(session_id: SessionId):  # no return annotation: a 204 has no body
    principal = caller(app)
    container.account_service().end_session(user_id=principal.sub, email=principal.email, session_id=session_id)
    return Response(204, None, "")


handler = entry_point(app)

"""The emailed-link routes (verify an email, ask for another verification mail, forgot and reset a password), public,
and POST /me/password (bearer): the account's password and email lifecycle, the one function besides registration
that hashes passwords or sends mail."""

from typing import Annotated

from auth_core import container
from auth_core.http import Body, OpenAPIResponse, Response, build_resolver, caller, entry_point
from auth_core.models import ChangePasswordRequest, EmailRequest, ResetPasswordRequest, VerifyEmailRequest

app = build_resolver()

ACCEPTED: dict[int, OpenAPIResponse] = {
    202: {"description": "Accepted: the same answer whether or not the address has an account"}
}
NO_CONTENT: dict[int, OpenAPIResponse] = {204: {"description": "Done"}}


# No return annotations: 202 and 204 have no body for the resolver to validate.
@app.post("/auth/verify-email", summary="Verify an email address", tags=["account"], responses=NO_CONTENT)
def verify_email(request: Annotated[VerifyEmailRequest, Body()]):
    container.account_service().verify_email(token=request.token)
    return Response(204, None, "")


@app.post("/auth/verify-email/resend", summary="Send another verification mail", tags=["account"], responses=ACCEPTED)
def resend_verification(request: Annotated[EmailRequest, Body()]):
    container.account_service().resend_verification(email=request.email)
    return Response(202, None, "")


@app.post("/auth/password/forgot", summary="Mail a password-reset link", tags=["account"], responses=ACCEPTED)
def forgot_password(request: Annotated[EmailRequest, Body()]):
    container.account_service().forgot_password(email=request.email)
    return Response(202, None, "")


@app.post(
    "/auth/password/reset", summary="Choose a new password with a reset link", tags=["account"], responses=NO_CONTENT
)
def reset_password(request: Annotated[ResetPasswordRequest, Body()]):
    container.account_service().reset_password(token=request.token, password=request.password)
    return Response(204, None, "")


@app.post("/me/password", summary="Change your password", tags=["users"], responses=NO_CONTENT)
def change_password(request: Annotated[ChangePasswordRequest, Body()]):
    principal = caller(app)
    container.account_service().change_password(
        user_id=principal.sub,
        email=principal.email,
        session_id=principal.sid,
        current_password=request.current_password,
        new_password=request.new_password,
    )
    return Response(204, None, "")


handler = entry_point(app)

"""GET /whoami: who the token's claims say the caller is. API Gateway's JWT authorizer has verified the token before
this runs (signature, iss, aud, exp); the function only reads the claims it passes on."""

import json
from typing import Any


def claims_of(event: dict[str, Any]) -> dict[str, Any]:
    """The verified claims: `authorizer.jwt.claims` from an HTTP API (payload 2.0), `authorizer.claims` from a REST
    API."""
    authorizer = event["requestContext"]["authorizer"]
    claims: dict[str, Any] = authorizer["jwt"]["claims"] if "jwt" in authorizer else authorizer["claims"]
    return claims


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    claims = claims_of(event)
    body = {"sub": claims["sub"], "email": claims.get("email"), "role": claims.get("role")}
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(body),
    }

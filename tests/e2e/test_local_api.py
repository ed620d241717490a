"""End to end: the local API over HTTP, as a client sees it (CONTRACT.md), with the embedded backend.

Every reply goes through `Client.request`, which checks the contract's security headers on it.
"""

from __future__ import annotations

import re

from tests.e2e.localapi import ADMIN_EMAIL, ADMIN_PASSWORD, Client

CHALLENGE = 'Bearer realm="serverless-jwt-auth"'
USER_FIELDS = {"id", "email", "role", "status", "created_at", "email_verified"}
PAIR_FIELDS = {"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"}


def test_unknown_route_is_a_404_json(client: Client) -> None:
    for method, path in [("GET", "/nope"), ("GET", "/favicon.ico"), ("DELETE", "/me"), ("GET", "/me/")]:
        reply = client.request(method, path)
        assert (reply.status, reply.body) == (404, {"error": "not_found", "message": "No such route."}), path
        assert reply.header("Content-Type") == "application/json"


def test_register_login_and_me(client: Client, email: str) -> None:
    registered = client.register(email)
    user = registered.body["user"]
    assert set(user) == USER_FIELDS
    assert (user["email"], user["role"], user["status"]) == (email, "user", "active")

    login = client.login(email)
    assert set(login.body) == PAIR_FIELDS
    assert (login.body["token_type"], login.body["expires_in"], login.body["refresh_expires_in"]) == (
        "Bearer",
        900,
        604800,
    )
    cookie = login.header("Set-Cookie") or ""
    assert cookie.startswith(f"refresh_token={login.body['refresh_token']};")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/auth", "Max-Age=604800"):
        assert attribute in cookie
    assert "Secure" not in cookie  # COOKIE_SECURE=false: the local API is plain http

    me = client.request("GET", "/me", token=login.body["access_token"])
    assert me.status == 200, me.body
    assert me.body == {"user": user, "message": f"Welcome {email}, to your secure dashboard."}


def test_a_protected_route_without_a_token(client: Client) -> None:
    reply = client.request("GET", "/me")
    assert (reply.status, reply.body["error"]) == (401, "missing_token")
    assert reply.header("WWW-Authenticate") == CHALLENGE
    bad = client.request("GET", "/me", token="not-a-jwt")
    assert (bad.status, bad.body["error"]) == (401, "invalid_token")
    assert bad.header("WWW-Authenticate") == f'{CHALLENGE}, error="invalid_token"'


def test_refresh_by_cookie_then_by_body(client: Client, email: str) -> None:
    client.register(email)
    login = client.login(email)

    by_cookie = client.request("POST", "/auth/refresh", cookie=login.refresh_cookie)
    assert by_cookie.status == 200, by_cookie.body
    assert set(by_cookie.body) == PAIR_FIELDS
    assert by_cookie.body["refresh_token"] != login.body["refresh_token"]
    assert by_cookie.refresh_cookie == f"refresh_token={by_cookie.body['refresh_token']}"

    by_body = client.request("POST", "/auth/refresh", body={"refresh_token": by_cookie.body["refresh_token"]})
    assert by_body.status == 200, by_body.body
    assert by_body.body["refresh_token"] not in (login.body["refresh_token"], by_cookie.body["refresh_token"])
    assert client.request("GET", "/me", token=by_body.body["access_token"]).status == 200


def test_reusing_a_rotated_refresh_token_revokes_the_session(client: Client, email: str) -> None:
    client.register(email)
    login = client.login(email)
    rotated = client.request("POST", "/auth/refresh", body={"refresh_token": login.body["refresh_token"]})
    assert rotated.status == 200

    reuse = client.request("POST", "/auth/refresh", body={"refresh_token": login.body["refresh_token"]})
    assert (reuse.status, reuse.body["error"]) == (401, "token_revoked")
    # The whole family ends: the successor is refused too.
    successor = client.request("POST", "/auth/refresh", body={"refresh_token": rotated.body["refresh_token"]})
    assert (successor.status, successor.body["error"]) == (401, "token_revoked")


def test_logout_revokes_the_access_token_and_clears_the_cookie(client: Client, email: str) -> None:
    client.register(email)
    login = client.login(email)
    token = login.body["access_token"]
    assert client.request("GET", "/me", token=token).status == 200

    logout = client.request("POST", "/auth/logout", token=token, cookie=login.refresh_cookie)
    assert (logout.status, logout.raw) == (204, b"")
    cleared = logout.header("Set-Cookie") or ""
    assert cleared.startswith("refresh_token=;") and "Max-Age=0" in cleared

    me = client.request("GET", "/me", token=token)
    assert (me.status, me.body["error"]) == (401, "token_revoked")
    assert me.header("WWW-Authenticate") == f'{CHALLENGE}, error="invalid_token"'
    refresh = client.request("POST", "/auth/refresh", cookie=login.refresh_cookie)
    assert (refresh.status, refresh.body["error"]) == (401, "token_revoked")


def test_a_normal_user_is_refused_the_admin_routes(client: Client, email: str) -> None:
    user_id = client.register(email).body["user"]["id"]
    token = client.login(email).body["access_token"]
    for method, path in [("GET", "/admin/users"), ("GET", f"/admin/users/{user_id}")]:
        reply = client.request(method, path, token=token)
        assert (reply.status, reply.body["error"]) == (403, "insufficient_role"), path
    patch = client.request("PATCH", f"/admin/users/{user_id}", token=token, body={"role": "admin"})
    assert (patch.status, patch.body["error"]) == (403, "insufficient_role")


def test_the_admin_lists_reads_and_updates_users(client: Client, email: str) -> None:
    user_id = client.register(email).body["user"]["id"]
    token = client.login(ADMIN_EMAIL, ADMIN_PASSWORD).body["access_token"]

    listed = client.request("GET", "/admin/users?limit=100", token=token)
    assert listed.status == 200, listed.body
    emails = {user["email"] for user in listed.body["users"]}
    assert {ADMIN_EMAIL, email} <= emails
    assert all(set(user) == USER_FIELDS for user in listed.body["users"])
    assert "next_cursor" in listed.body

    one = client.request("GET", f"/admin/users/{user_id}", token=token)
    assert (one.status, one.body["user"]["email"]) == (200, email)
    disabled = client.request("PATCH", f"/admin/users/{user_id}", token=token, body={"status": "disabled"})
    assert (disabled.status, disabled.body["user"]["status"]) == (200, "disabled")
    login = client.request("POST", "/auth/login", body={"email": email, "password": "correct horse battery staple 42"})
    assert (login.status, login.body["error"]) == (401, "invalid_credentials")


def test_errors_have_the_contract_shape(client: Client, email: str) -> None:
    invalid = client.request("POST", "/auth/register", body={"email": "not-an-email", "password": "x"})
    assert (invalid.status, invalid.body["error"]) == (400, "validation_error")
    assert invalid.body["details"]
    client.register(email)
    taken = client.request("POST", "/auth/register", body={"email": email, "password": "another horse battery 42"})
    assert (taken.status, taken.body["error"]) == (409, "email_taken")
    wrong = client.request("POST", "/auth/login", body={"email": email, "password": "wrong horse battery 42"})
    assert (wrong.status, wrong.body["error"]) == (401, "invalid_credentials")
    for reply in (invalid, taken, wrong):
        assert set(reply.body) <= {"error", "message", "details"}
        assert not re.search(r"Traceback|Exception|test-users|dev-users|dev-tokens", reply.raw.decode())


def test_cors_preflight_and_head(client: Client, base_url: str) -> None:
    origin = base_url
    preflight = client.request(
        "OPTIONS",
        "/auth/login",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status in (200, 204)
    assert preflight.header("Access-Control-Allow-Origin") == origin
    assert preflight.header("Access-Control-Allow-Credentials") == "true"
    foreign = client.request(
        "OPTIONS", "/auth/login", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert foreign.header("Access-Control-Allow-Origin") is None
    head = client.request("HEAD", "/nope")
    assert (head.status, head.raw) == (404, b"")

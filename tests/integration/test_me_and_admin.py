"""GET /me and the admin routes (role-based access control)."""

from __future__ import annotations

import pytest

from tests.lambda_events import LambdaContext, handler_of, load_event


def patch_user(api, admin, user_id, body):
    return api.call(
        "PATCH", "/admin/users/{user_id}", token=admin["access_token"], path_params={"user_id": user_id}, body=body
    )


def test_me_returns_user_and_welcome_message(api, signed_in):
    session = signed_in()

    reply = api.call("GET", "/me", token=session["access_token"])

    assert reply.status == 200
    assert reply.body == {
        "user": {
            "id": session["user_id"],
            "email": "ada@example.com",
            "role": "user",
            "status": "active",
            "created_at": reply.body["user"]["created_at"],
            "email_verified": False,
        },
        "message": "Welcome ada@example.com, to your secure dashboard.",
    }


def test_me_sample_event_with_authorizer_context_answers_200(aws, signed_in):
    session = signed_in()
    event = load_event("me")
    event["requestContext"]["authorizer"].update(principalId=session["user_id"], sub=session["user_id"])

    result = handler_of("me")(event, LambdaContext())

    assert result["statusCode"] == 200


@pytest.mark.parametrize(
    ("header", "error"),
    [(None, "missing_token"), ("Bearer garbage", "invalid_token"), ("Token abc", "invalid_token")],
)
def test_me_without_valid_token_answers_401(api, header, error):
    reply = api.call("GET", "/me", headers={"Authorization": header})

    assert (reply.status, reply.body["error"]) == (401, error)


@pytest.mark.parametrize(
    ("method", "route", "params", "body"),
    [
        ("GET", "/admin/users", None, None),
        ("GET", "/admin/users/{user_id}", {"user_id": "A" * 22}, None),
        ("PATCH", "/admin/users/{user_id}", {"user_id": "A" * 22}, {"role": "admin"}),
    ],
)
def test_admin_route_as_normal_user_answers_403_insufficient_role(api, signed_in, method, route, params, body):
    session = signed_in()

    reply = api.call(method, route, token=session["access_token"], path_params=params, body=body)

    assert (reply.status, reply.body["error"]) == (403, "insufficient_role")


def test_admin_list_users_pages_through_everyone(api, signed_in):
    admin = signed_in("root@example.com", role="admin")
    for index in range(4):
        signed_in(f"user{index}@example.com")

    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        reply = api.call("GET", "/admin/users", token=admin["access_token"], query=query)
        assert reply.status == 200
        seen += [user["email"] for user in reply.body["users"]]
        pages += 1
        cursor = reply.body["next_cursor"]
        if cursor is None:
            break

    assert sorted(seen) == sorted(["root@example.com"] + [f"user{i}@example.com" for i in range(4)])
    assert pages >= 3
    assert "password" not in str(reply.raw_body) and "$2b$" not in str(reply.raw_body)


@pytest.mark.parametrize(
    "query", [{"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"cursor": "not-a-cursor"}, {"cursor": "e30"}]
)
def test_admin_list_users_bad_query_answers_400(api, signed_in, query):
    admin = signed_in("root@example.com", role="admin")

    reply = api.call("GET", "/admin/users", token=admin["access_token"], query=query)

    assert (reply.status, reply.body["error"]) == (400, "validation_error")


def test_admin_get_user_returns_user_and_unknown_id_answers_404(api, signed_in):
    admin, user = signed_in("root@example.com", role="admin"), signed_in("bob@example.com")

    found = api.call(
        "GET", "/admin/users/{user_id}", token=admin["access_token"], path_params={"user_id": user["user_id"]}
    )
    missing = api.call("GET", "/admin/users/{user_id}", token=admin["access_token"], path_params={"user_id": "B" * 22})
    invalid = api.call("GET", "/admin/users/{user_id}", token=admin["access_token"], path_params={"user_id": "x;drop"})

    assert (found.status, found.body["user"]["email"]) == (200, "bob@example.com")
    assert (missing.status, missing.body["error"]) == (404, "not_found")
    assert (invalid.status, invalid.body["error"]) == (400, "validation_error")


def test_admin_promote_user_gives_admin_access_on_next_request(api, signed_in):
    admin, user = signed_in("root@example.com", role="admin"), signed_in("bob@example.com")

    reply = patch_user(api, admin, user["user_id"], {"role": "admin"})

    assert (reply.status, reply.body["user"]["role"]) == (200, "admin")
    # The authorizer passes the current role, so the promoted user's existing token already works.
    assert api.call("GET", "/admin/users", token=user["access_token"]).status == 200


def test_admin_disable_user_ends_their_sessions_and_login(api, signed_in):
    from tests.conftest import PASSWORD

    admin, user = signed_in("root@example.com", role="admin"), signed_in("bob@example.com")

    reply = patch_user(api, admin, user["user_id"], {"status": "disabled"})

    assert (reply.status, reply.body["user"]["status"]) == (200, "disabled")
    assert api.call("GET", "/me", token=user["access_token"]).body["error"] == "token_revoked"
    assert (
        api.call("POST", "/auth/refresh", body={"refresh_token": user["refresh_token"]}).body["error"]
        == "token_revoked"
    )
    assert api.call("POST", "/auth/login", body={"email": "bob@example.com", "password": PASSWORD}).status == 401


@pytest.mark.parametrize("body", [{"role": "user"}, {"status": "disabled"}])
def test_admin_demote_or_disable_self_answers_400_and_changes_nothing(api, signed_in, body):
    admin = signed_in("root@example.com", role="admin")

    reply = patch_user(api, admin, admin["user_id"], body)

    assert (reply.status, reply.body["error"]) == (400, "validation_error")
    assert api.call("GET", "/admin/users", token=admin["access_token"]).status == 200


@pytest.mark.parametrize("body", [{}, {"role": "root"}, {"status": "deleted"}, {"email": "x@example.com"}])
def test_admin_patch_invalid_body_answers_400(api, signed_in, body):
    admin, user = signed_in("root@example.com", role="admin"), signed_in("bob@example.com")

    reply = patch_user(api, admin, user["user_id"], body)

    assert (reply.status, reply.body["error"]) == (400, "validation_error")

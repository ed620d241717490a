"""Attacks on issue 9 claims 5, 6, 7 and 9 with the project's own handlers on moto; each one held in the attack review."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

ADA = "ada@example.com"
RIGHT = {"email": ADA, "password": PASSWORD}


# --- claim 9: a dependency failure is a clean 503 with nothing half-written -------------------------------------


# --- claim 5: the password policy -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "\uff30\uff41\uff53\uff53\uff57\uff4f\uff52\uff44\uff11\uff12\uff13\uff14"  # full-width,
        "PASSWORD1234!",
        "P@ssw0rd1234!",
        "1234Password!",
        "drowssaP1234",
        "Password\u00a01234",
    ],
)
def test_held_full_width_case_and_end_decorations_refused(api, password):
    assert api.call("POST", "/auth/register", body={"email": ADA, "password": password}).status == 400


# --- claim 6: parser edge cases -------------------------------------------------------------------------------

EDGE_BODIES = {
    "lone-surrogate-password": '{"email": "ada@example.com", "password": "\\ud800aaaaaaaaaaaaaaaaaaaaaa Aa1"}',
    "lone-surrogate-email": '{"email": "a\\ud800@example.com", "password": "x"}',
    "lone-surrogate-token": '{"refresh_token": "\\ud800"}',
    "huge-float": '{"email": 1e400, "password": -1e400, "refresh_token": 1e999}',
    "bom": '\ufeff{"email": "ada@example.com", "password": "x"}',
    "nested-arrays-in-fields": '{"email": [[["a"]]], "password": {"a": [1]}, "refresh_token": [[]]}',
    "deep-in-field": '{"email": ' + "[" * 5000 + "]" * 5000 + "}",
    "long-string": '{"email": "' + "a" * 16000 + '"}',
    "nul": '{"email": "ada@example.com\\u0000", "password": "x\\u0000"}',
}


@pytest.mark.parametrize("route", ["/auth/register", "/auth/login", "/auth/refresh", "/auth/logout"])
@pytest.mark.parametrize("name", list(EDGE_BODIES))
def test_held_parser_edge_cases_are_400_without_error_log(api, logs, route, name):
    reply = api.call("POST", route, raw_body=EDGE_BODIES[name])
    assert reply.status == 400, reply.body
    assert not [line for line in logs() if '"level":"ERROR"' in line.replace(" ", "")]


def test_held_many_and_huge_cookies_and_duplicate_device_cookies(api, signed_in):
    session = signed_in()
    many = "; ".join(f"c{i}=v{i}" for i in range(2000))
    reply = api.call("POST", "/auth/refresh", headers={"Cookie": f"{many}; refresh_token={session['refresh_token']}"})
    assert reply.status == 200
    body = {"email": ADA, "password": "wrong password 123"}
    assert api.call("POST", "/auth/login", body=body, headers={"Cookie": "device=" + "A" * 10000}).status == 401
    dup = "device=dev1." + "A" * 22 + "." + "B" * 22 + "; device=dev1." + "C" * 22 + "." + "D" * 22
    assert api.call("POST", "/auth/login", body=body, headers={"Cookie": dup}).status == 401
    r = api.call(
        "POST", "/auth/refresh", headers={"Cookie": f"refresh_token={reply.body['refresh_token']}; refresh_token=x"}
    )
    assert r.status == 400


# --- claim 7: admin cursors -----------------------------------------------------------------------------------


def test_held_cursor_tamper_forge_and_cross_purpose(api, signed_in):
    admin = signed_in("root@example.com", role="admin")
    for i in range(3):
        signed_in(f"user{i}@example.com")
    page = api.call("GET", "/admin/users", token=admin["access_token"], query={"limit": "1"})
    cursor = page.body["next_cursor"]
    assert cursor and "@" not in cursor
    flipped = cursor[:20] + ("A" if cursor[20] != "A" else "B") + cursor[21:]
    device = "dev1." + "A" * 22 + "." + "B" * 22
    candidates = [flipped, cursor + "A", cursor[:-1], admin["refresh_token"].split(".")[3], device, "e30", "A" * 200]
    for bad in candidates:
        reply = api.call("GET", "/admin/users", token=admin["access_token"], query={"limit": "1", "cursor": bad})
        assert reply.status == 400 and reply.body["error"] == "validation_error", (bad, reply.status)
    replayed = api.call("GET", "/admin/users", token=admin["access_token"], query={"limit": "50", "cursor": cursor})
    assert replayed.status == 200

"""Attacks on issue 9 claims 5, 6, 7 and 9 with the project's own handlers on moto. A FAILING test is a finding."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from auth_core import container
from tests.conftest import PASSWORD

ADA = "ada@example.com"
RIGHT = {"email": ADA, "password": PASSWORD}


# --- claim 9: a dependency failure is a clean 503 with nothing half-written -------------------------------------


def test_transient_dynamodb_failures_during_right_password_logins_lock_the_owner_out(api, aws):
    """FINDING. Each login counts its attempt (with the lock it deserves 'if it fails') before bcrypt; when the session
    write then fails (a throttled TransactWriteItems: 503), the attempt stays counted as a failure. Five transient
    failures while the owner types the RIGHT password leave the account locked: once DynamoDB is back, the owner gets
    429, although no wrong password was ever sent. The same holds on a known device's budget."""
    assert api.call("POST", "/auth/register", body=RIGHT).status == 201
    client = container.dynamodb()

    def throttled(**_):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "TransactWriteItems"
        )

    event = f"before-call.{client.meta.service_model.service_id.hyphenize()}.TransactWriteItems"
    client.meta.events.register_first(event, throttled, unique_id="attack-throttled")
    try:
        during = [api.call("POST", "/auth/login", body=RIGHT).status for _ in range(5)]
    finally:
        client.meta.events.unregister(event, unique_id="attack-throttled")
    assert during == [503] * 5

    after = api.call("POST", "/auth/login", body=RIGHT)
    assert after.status == 200, f"the owner, right password, DynamoDB healthy again: {after.status} {after.body}"


# --- claim 5: the password policy -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "Pass word1234",  # a space inside the common word
        "Pass.word1234",  # punctuation inside
        "Pass\u00adword1234",  # SOFT HYPHEN: invisible, survives NFKC
        "Pass\u2060word1234",  # WORD JOINER: invisible, survives NFKC
        "Password1234\u200b",  # ZERO WIDTH SPACE at the end: invisible
        "Password!Password!",  # a common password twice
        "Password123\u0661",  # ARABIC-INDIC DIGIT ONE: a digit NFKC keeps, not stripped as a decoration
    ],
)
def test_decorated_common_password_is_refused(api, password):
    """FINDING (low). CONTRACT.md "Passwords": 'a full-width or otherwise decorated form of a common password is
    just as common'. Only full-width/compatibility forms and decorations at the two ends are caught: separators
    inside, invisible (default-ignorable) characters that NFKC keeps, non-ASCII digits and repetition pass."""
    reply = api.call("POST", "/auth/register", body={"email": ADA, "password": password})
    assert reply.status == 400, f"{password!r} accepted: {reply.status}"


@pytest.mark.parametrize(
    "password",
    ["Ｐａｓｓｗｏｒｄ１２３４", "PASSWORD1234!", "P@ssw0rd1234!", "1234Password!", "drowssaP1234", "Password\u00a01234"],
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
    r = api.call("POST", "/auth/refresh", headers={"Cookie": f"refresh_token={reply.body['refresh_token']}; refresh_token=x"})
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

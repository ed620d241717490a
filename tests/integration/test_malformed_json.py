"""Bodies the JSON parser refuses are the client's mistake: 400 validation_error on every public route, never a 500
with an ERROR line and a traceback in the logs (CONTRACT.md, "Errors": deep nesting and huge numbers included)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from auth_core import container

PUBLIC_ROUTES = ["/auth/register", "/auth/login", "/auth/refresh", "/auth/logout"]
NOT_JSON = {
    "error": "validation_error",
    "message": "The request is invalid.",
    "details": [{"field": "body", "message": "the body is not valid JSON"}],
}

UNPARSABLE = {
    # Python refuses to convert more than 4,300 digits (CVE-2020-10735): a ValueError, not a JSONDecodeError.
    "integer-of-4400-digits": '{"email": "ada@example.com", "password": 1' + "0" * 4400 + "}",
    "huge-integer-as-whole-body": "9" * 5000,
    # Not JSON (RFC 8259 s6), though Python's parser accepts them by default.
    "NaN": '{"email": "ada@example.com", "password": NaN}',
    "Infinity": '{"refresh_token": Infinity}',
    "-Infinity": '{"refresh_token": -Infinity}',
    "syntax-error": '{"email": "ada@example.com", "password": ',
}


def error_lines(lines: list[str]) -> list[str]:
    """The log lines an operator would be paged for: ERROR level, or a traceback."""
    errors = []
    for line in lines:
        try:
            record: Any = json.loads(line)
        except ValueError:
            record = None
        is_error = isinstance(record, dict) and (record.get("level") in ("ERROR", "CRITICAL") or "exception" in record)
        if is_error or "Traceback" in line:
            errors.append(line[:200])
    return errors


@pytest.mark.parametrize("route", PUBLIC_ROUTES)
@pytest.mark.parametrize("body", UNPARSABLE.values(), ids=UNPARSABLE.keys())
def test_public_route_unparsable_body_answers_400_without_error_log(
    api: Any, logs: Callable[[], list[str]], route: str, body: str
) -> None:
    assert len(body) < 16_384  # under the body limit: the parser itself has to refuse it

    reply = api.call("POST", route, raw_body=body)

    assert (reply.status, reply.body) == (400, NOT_JSON)
    assert error_lines(logs()) == []


@pytest.mark.parametrize("route", PUBLIC_ROUTES)
def test_public_route_nesting_past_parser_recursion_limit_answers_400_without_error_log(
    api: Any, logs: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    # Given a body nested deeper than CPython's JSON decoder recurses (it raises RecursionError: at 10,000 levels on
    # this 3.13 build, fewer on others), let in by a larger body limit
    monkeypatch.setenv("MAX_BODY_BYTES", "65536")
    container.reset()
    body = "[" * 20_000 + "]" * 20_000

    # When it is posted
    reply = api.call("POST", route, raw_body=body)

    # Then it is refused as not JSON, and nothing is logged as an error
    assert (reply.status, reply.body) == (400, NOT_JSON)
    assert error_lines(logs()) == []


@pytest.mark.parametrize("route", PUBLIC_ROUTES)
def test_public_route_5000_levels_of_nesting_under_body_limit_answers_400_without_error_log(
    api: Any, logs: Callable[[], list[str]], route: str
) -> None:
    body = '{"refresh_token": ' + "[" * 5000 + "]" * 5000 + "}"

    reply = api.call("POST", route, raw_body=body)

    assert reply.status == 400
    assert reply.body["error"] == "validation_error"
    assert reply.body["details"]
    assert error_lines(logs()) == []


# Valid JSON whose numbers Python reads as inf or 0: no field takes a number, so pydantic names the field.
@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/auth/register", '{"email": "ada@example.com", "password": 1e999}', "password"),
        ("/auth/login", '{"email": "ada@example.com", "password": -1e999}', "password"),
        ("/auth/refresh", '{"refresh_token": -0}', "refresh_token"),
        ("/auth/logout", '{"refresh_token": -0.0}', "refresh_token"),
    ],
)
def test_public_route_out_of_range_or_negative_zero_number_answers_400_naming_field(
    api: Any, logs: Callable[[], list[str]], route: str, body: str, field: str
) -> None:
    reply = api.call("POST", route, raw_body=body)

    assert reply.status == 400
    assert reply.body["error"] == "validation_error"
    assert [detail["field"] for detail in reply.body["details"]] == [field]
    assert error_lines(logs()) == []


def test_admin_list_users_limit_of_5000_digits_answers_400_without_error_log(
    api: Any, signed_in: Callable[..., dict[str, Any]], logs: Callable[[], list[str]]
) -> None:
    admin = signed_in("root@example.com", role="admin")

    reply = api.call("GET", "/admin/users", token=admin["access_token"], query={"limit": "1" * 5000})

    assert reply.status == 400
    assert reply.body["error"] == "validation_error"
    assert [detail["field"] for detail in reply.body["details"]] == ["query.limit"]
    assert error_lines(logs()) == []

"""Every request body is a JSON object: other media types and top-level arrays are refused with 400 validation_error
before the resolver parses them (found by schemathesis: a multipart type without a boundary was a 500, and an array
was unwrapped to its first item)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import PASSWORD

LOGIN = {"email": "ada@example.com", "password": PASSWORD}
ROUTES = [("POST", "/auth/register"), ("POST", "/auth/login"), ("POST", "/auth/refresh"), ("POST", "/auth/logout")]


@pytest.mark.parametrize(("method", "route"), ROUTES)
@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "text/plain"],
)
def test_a_body_that_is_not_json_is_a_validation_error(api, method, route, content_type):
    reply = api.call(method, route, raw_body=json.dumps(LOGIN), headers={"Content-Type": content_type})

    assert reply.status == 400, reply.raw_body
    assert reply.body["error"] == "validation_error"
    assert reply.body["details"] == [{"field": "Content-Type", "message": "must be application/json"}]


@pytest.mark.parametrize(("method", "route"), ROUTES)
@pytest.mark.parametrize("body", [[LOGIN], [LOGIN, "junk"], [None, None], [{}]])
def test_a_json_array_is_a_validation_error_not_its_first_item(api, method, route, body):
    reply = api.call(method, route, body=body)

    assert reply.status == 400, reply.raw_body
    assert reply.body["details"] == [{"field": "body", "message": "must be a JSON object"}]


def test_json_with_a_charset_is_json(api, signed_in):
    signed_in()

    reply = api.call("POST", "/auth/login", body=LOGIN, headers={"Content-Type": "application/json; charset=utf-8"})

    assert reply.status == 200, reply.raw_body

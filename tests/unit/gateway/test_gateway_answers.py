"""What the local gateway makes of a function's answer (or its crash, its timeout), the headers API Gateway drops
or renames, its limits, its log, and whether invocations overlap."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import PASSWORD
from tests.unit.gateway.support import (
    CHALLENGE,
    assert_no_trace,
    assert_security_headers,
    call,
    sign_in,
)

if TYPE_CHECKING:
    from infra.gateway import LocalGateway
    from tests.e2e.localapi import Reply


def test_a_handler_that_raises_is_a_502_without_a_trace(
    gateway: LocalGateway, spy: Callable[..., Any], log: list[str]
) -> None:
    def crash(event: dict[str, Any], context: Any) -> Any:
        raise ValueError("cannot read table test-users")

    spy("RegisterFunction", crash)
    reply = call(gateway, "POST", "/auth/register", body={"email": "ada@example.com", "password": PASSWORD})
    assert reply.status == 502
    assert reply.body["error"] == "internal_error"
    assert reply.body["message"] == f"An unexpected error occurred. Reference: {reply.header('x-amzn-RequestId')}"
    assert_security_headers(reply)
    assert_no_trace(reply)
    assert any("ValueError" in line for line in log)  # the trace goes to the local log, as to CloudWatch


@pytest.mark.parametrize(
    "result",
    [
        None,
        "ok",
        [200, "{}"],
        {"body": "{}"},
        {"statusCode": "200", "body": "{}"},
        {"statusCode": True, "body": "{}"},
        {"statusCode": 700, "body": "{}"},
        {"statusCode": 200, "body": {"user": 1}},
        {"statusCode": 200, "body": "{}", "headers": {"X-A": {"b": 1}}},
        {"statusCode": 200, "body": "{}", "multiValueHeaders": {"Set-Cookie": "a=1"}},
        {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True},
        {"statusCode": 200, "body": "{}", "extra": {1, 2}},  # not JSON: Lambda's runtime can't send it
    ],
)
def test_a_malformed_proxy_result_is_a_502(gateway: LocalGateway, spy: Callable[..., Any], result: Any) -> None:
    spy("RegisterFunction", lambda event, context: result)
    reply = call(gateway, "POST", "/auth/register", body={"email": "ada@example.com", "password": PASSWORD})
    assert reply.status == 502
    assert reply.body["error"] == "internal_error"
    assert_security_headers(reply)


def test_a_handler_past_its_timeout_is_a_502(gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    gateway.functions["RegisterFunction"].timeout_seconds = 0.01

    def slow(event: dict[str, Any], context: Any) -> Any:
        time.sleep(0.05)
        return {"statusCode": 201, "body": "{}"}

    spy("RegisterFunction", slow)
    reply = call(gateway, "POST", "/auth/register", body={"email": "ada@example.com", "password": PASSWORD})
    assert (reply.status, reply.body["error"]) == (502, "internal_error")


@pytest.mark.parametrize(("serialize", "overlap"), [(True, False), (False, True)], ids=["serialized", "concurrent"])
@pytest.mark.parametrize("second", ["/auth/register", "/auth/login"], ids=["same function", "another function"])
def test_serialize_functions_decides_whether_invocations_overlap(
    make_gateway: Callable[..., LocalGateway],
    monkeypatch: pytest.MonkeyPatch,
    serialize: bool,
    overlap: bool,
    second: str,
) -> None:
    """make run runs one invocation at a time, even of two functions (they share Powertools' class-level current
    event in one process); the tests' gateway lets them overlap."""
    gateway = make_gateway(serialize_functions=serialize)
    both_inside = threading.Barrier(2, timeout=0.5)

    def meet(event: dict[str, Any], context: Any) -> Any:
        try:
            both_inside.wait()
        except threading.BrokenBarrierError:
            return {"statusCode": 200, "body": json.dumps({"met": False})}
        return {"statusCode": 200, "body": json.dumps({"met": True})}

    monkeypatch.setattr(gateway.handler_module("RegisterFunction"), "handler", meet)
    monkeypatch.setattr(gateway.handler_module("LoginFunction"), "handler", meet)
    replies: list[Reply] = []
    threads = [
        threading.Thread(target=lambda route=route: replies.append(call(gateway, "POST", route, body={})))
        for route in ("/auth/register", second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [reply.body["met"] for reply in replies] == [overlap, overlap]


def test_several_set_cookie_headers_stay_separate(gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    result = {
        "statusCode": 200,
        "multiValueHeaders": {"Set-Cookie": ["a=1; Path=/", "b=2; Path=/"]},
        "headers": {"Set-Cookie": "a=1; Path=/", "X-One": "1"},
        "body": "{}",
    }
    spy("RegisterFunction", lambda event, context: result)
    reply = call(gateway, "POST", "/auth/register", body={})
    assert reply.status == 200
    assert reply.all("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]  # a pair in both maps appears once
    assert reply.header("X-One") == "1"
    assert reply.header("Content-Type") == "application/json"  # API Gateway's default


def test_logout_clears_the_cookie(aws: dict[str, Any], gateway: LocalGateway) -> None:
    ada = sign_in(gateway)
    reply = call(gateway, "POST", "/auth/logout", headers=[("Cookie", ada["cookie"].split(";")[0])])
    assert (reply.status, reply.raw) == (204, b"")
    [cookie] = reply.all("Set-Cookie")
    assert cookie.startswith("refresh_token=;") and "Max-Age=0" in cookie


def test_base64_bodies_both_ways(gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    events = spy(
        "RegisterFunction",
        lambda event, context: {
            "statusCode": 200,
            "body": base64.b64encode(b"\x00\xffok").decode(),
            "isBase64Encoded": True,
            "headers": {"Content-Type": "application/octet-stream"},
        },
    )
    reply = call(gateway, "POST", "/auth/register", raw=b"\xff\xfe not utf-8")
    assert (reply.status, reply.raw) == (200, b"\x00\xffok")
    assert reply.header("Content-Type") == "application/octet-stream"
    assert events[0]["isBase64Encoded"] is True
    assert base64.b64decode(events[0]["body"]) == b"\xff\xfe not utf-8"


def test_response_headers_api_gateway_remaps_or_drops(gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    headers = {"WWW-Authenticate": CHALLENGE, "Server": "gunicorn", "Via": "1.1 proxy", "Content-Length": "999"}
    spy("RegisterFunction", lambda event, context: {"statusCode": 200, "headers": headers, "body": "{}"})
    reply = call(gateway, "POST", "/auth/register", body={})
    assert reply.header("WWW-Authenticate") is None
    assert reply.header("x-amzn-Remapped-WWW-Authenticate") == CHALLENGE
    assert reply.header("x-amzn-Remapped-Server") == "gunicorn"
    assert reply.header("Via") is None and reply.header("Content-Length") is None


def test_a_handlers_own_401_loses_its_challenge_behind_api_gateway(aws: dict[str, Any], gateway: LocalGateway) -> None:
    """As deployed: a WWW-Authenticate set by a Lambda proxy integration arrives as x-amzn-Remapped-WWW-Authenticate."""
    sign_in(gateway)
    reply = call(gateway, "POST", "/auth/login", body={"email": "ada@example.com", "password": "wrong password 42!"})
    assert (reply.status, reply.body["error"]) == (401, "invalid_credentials")
    assert reply.header("WWW-Authenticate") is None
    assert (reply.header("x-amzn-Remapped-WWW-Authenticate") or "").startswith(CHALLENGE)


def test_a_body_over_10_mb_is_request_too_large(gateway: LocalGateway, spy: Callable[..., Any]) -> None:
    events = spy("RegisterFunction")
    reply = call(gateway, "POST", "/auth/register", raw=b"x" * (10 * 1024 * 1024 + 1))
    assert reply.status == 400
    assert reply.body == {"error": "validation_error", "message": "The request body is too large.", "details": []}
    assert events == []


def test_one_log_line_per_request_without_secrets(aws: dict[str, Any], gateway: LocalGateway, log: list[str]) -> None:
    ada = sign_in(gateway)
    log.clear()
    reply = call(gateway, "GET", "/me?x=secret-query", token=ada["access_token"])
    [line] = log
    assert re.fullmatch(r"GET /me 200 \d+ms " + reply.header("x-amzn-RequestId"), line), line
    assert ada["access_token"] not in line and "secret-query" not in line

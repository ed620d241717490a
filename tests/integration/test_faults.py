"""Fault injection: each DynamoDB and Secrets Manager call a route makes fails in turn.

The service's own botocore clients (`container.dynamodb()`, `container.secretsmanager()`) get a `before-call` hook
that raises what AWS raises when it throttles, fails or can't be reached (a `before-send` hook where botocore's own
retries matter, an `after-call` hook for a write that landed but whose answer was lost). The test's own clients (from
the `aws` fixture) are left alone, so they read the tables as they really are. Expected every time: a clean 503
`service_unavailable` that leaks nothing, the security headers, tables exactly as they were before the request, and
the same request working once the fault is gone. Races are staged by a hook that lets another request win first.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from auth_core import container
from auth_core.account import AccountService
from auth_core.services import AdminService, AuthService
from tests.conftest import PASSWORD, TEST_ENV

USERS = TEST_ENV["USERS_TABLE_NAME"]
TOKENS = TEST_ENV["TOKENS_TABLE_NAME"]
SECRET_ID = TEST_ENV["SIGNING_KEY_SECRET_ARN"]
TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/"
SECRET_ARN = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{SECRET_ID}"

# What must never reach a client: internal names, exception class names, traces, ARNs, the secret's id.
LEAKS = (
    USERS,
    TOKENS,
    SECRET_ID,
    "arn:",
    "Traceback",
    "Exception",
    "ClientError",
    "botocore",
    "Throttling",
    "ProvisionedThroughput",
    "InternalServerError",
    "InternalServiceError",
    "ReadTimeout",
    "EndpointConnection",
    "Could not connect",
    "amazonaws.com",
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

Fault = Callable[[str], Exception]


def _client_error(code: str, resource: str) -> Fault:
    """A ClientError as AWS sends it; its message names the resource, so a leak of the message shows."""

    def make(operation: str) -> Exception:
        message = f"{code} on {resource} (Traceback: botocore)"
        return ClientError({"Error": {"Code": code, "Message": message}}, operation)

    return make


def _transaction_throttled(operation: str) -> Exception:
    """A transaction cancelled because an item was throttled (no ConditionalCheckFailed among the reasons)."""
    reasons = [{"Code": "None"}, {"Code": "ThrottlingError", "Message": f"Throughput exceeded on {TABLE_ARN}{TOKENS}"}]
    error = {"Code": "TransactionCanceledException", "Message": f"Transaction cancelled on {TABLE_ARN}{TOKENS}"}
    return ClientError({"Error": error, "CancellationReasons": reasons * 2}, operation)


DYNAMODB_FAULTS: dict[str, Fault] = {
    "throughput_exceeded": _client_error("ProvisionedThroughputExceededException", f"{TABLE_ARN}{USERS}"),
    "throttled": _client_error("ThrottlingException", f"{TABLE_ARN}{TOKENS}"),
    "internal_error": _client_error("InternalServerError", f"{TABLE_ARN}{USERS}"),
    "read_timeout": lambda _: ReadTimeoutError(endpoint_url=f"https://dynamodb.us-east-1.amazonaws.com/{USERS}"),
    "unreachable": lambda _: EndpointConnectionError(endpoint_url=f"https://dynamodb.us-east-1.amazonaws.com/{TOKENS}"),
}
SECRETS_FAULTS: dict[str, Fault] = {
    "throttled": _client_error("ThrottlingException", SECRET_ARN),
    "internal_error": _client_error("InternalServiceError", SECRET_ARN),
    "access_denied": _client_error("AccessDeniedException", SECRET_ARN),
    "read_timeout": lambda _: ReadTimeoutError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com/"),
    "unreachable": lambda _: EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com/"),
}
ALL_DYNAMODB_FAULTS = pytest.mark.parametrize("fault", DYNAMODB_FAULTS.values(), ids=DYNAMODB_FAULTS.keys())


class Faults:
    """Hooks on the service's botocore clients; `fired` counts the calls each one broke."""

    def __init__(self) -> None:
        self._hooks: list[tuple[Any, str, str]] = []
        self._ids = itertools.count()
        self.fired: dict[str, int] = {}

    def hook(self, client: Any, operation: str, handler: Callable[..., Any], *, stage: str = "before-call") -> None:
        """Run `handler(**kwargs)` at `stage` of every `operation` call of `client`, ahead of any other handler
        (moto's too). At before-call a returned value replaces the call; before-send runs once per attempt, inside
        botocore's retries; after-call runs once the call has happened."""
        event = f"{stage}.{client.meta.service_model.service_id.hyphenize()}.{operation}"
        unique_id = f"fault-{next(self._ids)}"
        client.meta.events.register_first(event, handler, unique_id=unique_id)
        self._hooks.append((client, event, unique_id))

    def fail(self, client: Any, operation: str, fault: Fault) -> None:
        """Every `operation` call of `client` raises `fault(operation)` until `clear()`."""
        self.fired.setdefault(operation, 0)

        def raise_fault(**_: Any) -> None:
            self.fired[operation] += 1
            raise fault(operation)

        self.hook(client, operation, raise_fault)

    def dynamodb(self, operation: str, fault: Fault) -> None:
        self.fail(container.dynamodb(), operation, fault)

    def secretsmanager(self, fault: Fault) -> None:
        self.fail(container.secretsmanager(), "GetSecretValue", fault)

    def clear(self) -> None:
        for client, event, unique_id in self._hooks:
            client.meta.events.unregister(event, unique_id=unique_id)
        self._hooks.clear()


@pytest.fixture
def faults(aws: dict[str, Any]) -> Iterator[Faults]:
    injected = Faults()
    yield injected
    injected.clear()


@dataclass(frozen=True)
class World:
    """A signed-in user and a signed-in admin, before any fault."""

    user: dict[str, Any]
    admin: dict[str, Any]


@pytest.fixture
def world(signed_in: Callable[..., dict[str, Any]]) -> World:
    return World(user=signed_in("ada@example.com"), admin=signed_in("root@example.com", role="admin"))


def scan(aws: dict[str, Any], table: str) -> list[dict[str, Any]]:
    """Every item of a table, read directly (not through the service's faulty client)."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = aws["dynamodb"].scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def snapshot(aws: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Both tables, in a stable order, to compare before and after a failed request."""
    return {
        USERS: sorted(scan(aws, USERS), key=lambda item: item["email"]["S"]),
        TOKENS: sorted(scan(aws, TOKENS), key=lambda item: item["pk"]["S"]),
    }


def token_items(aws: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [item for item in scan(aws, TOKENS) if item["pk"]["S"].startswith(prefix)]


def active_sessions(aws: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in token_items(aws, "SES#") if item["status"]["S"] == "active"]


def assert_unchanged_but_the_attempt(aws: dict[str, Any], before: dict[str, list[dict[str, Any]]]) -> None:
    """A login counts its attempt before the password is checked (CONTRACT.md "Login throttling"), so a login that
    fails later still leaves that attempt counted; nothing else (no session) may stay behind."""
    after = snapshot(aws)
    is_attempt = lambda item: item["pk"]["S"].startswith("ATTEMPTS#")  # noqa: E731
    assert after[USERS] == before[USERS]
    assert [item for item in after[TOKENS] if not is_attempt(item)] == [
        item for item in before[TOKENS] if not is_attempt(item)
    ]
    assert len([item for item in after[TOKENS] if is_attempt(item)]) <= 1


def assert_security_headers(reply: Any) -> None:
    assert (reply.header("Strict-Transport-Security") or "").startswith("max-age="), reply.headers
    for name, value in SECURITY_HEADERS.items():
        assert reply.header(name) == value, (name, reply.headers)


def assert_unavailable(reply: Any) -> None:
    """The contract's 503: exactly error and message, nothing internal, the security headers, no new cookie."""
    assert reply.status == 503, reply.raw_body
    assert set(reply.body) == {"error", "message"}, reply.body
    assert reply.body["error"] == "service_unavailable"
    assert isinstance(reply.body["message"], str)
    assert reply.body["message"]
    for leak in LEAKS:
        assert leak not in reply.raw_body, leak
    assert_security_headers(reply)
    assert reply.cookies == []


# route name -> (how to call it for the world's user or admin, the status it answers without a fault)
ROUTES: dict[str, tuple[Callable[[Any, World], Any], int]] = {
    "register": (
        lambda api, w: api.call("POST", "/auth/register", body={"email": "new@example.com", "password": PASSWORD}),
        201,
    ),
    "login": (
        lambda api, w: api.call("POST", "/auth/login", body={"email": w.user["email"], "password": PASSWORD}),
        200,
    ),
    "login_wrong_password": (
        lambda api, w: api.call("POST", "/auth/login", body={"email": w.user["email"], "password": "Wrong pass 12345"}),
        401,
    ),
    "refresh": (
        lambda api, w: api.call("POST", "/auth/refresh", body={"refresh_token": w.user["refresh_token"]}),
        200,
    ),
    "refresh_cookie": (
        lambda api, w: api.call(
            "POST", "/auth/refresh", headers={"Cookie": f"refresh_token={w.user['refresh_token']}"}
        ),
        200,
    ),
    "logout": (
        lambda api, w: api.call(
            "POST", "/auth/logout", body={"refresh_token": w.user["refresh_token"]}, token=w.user["access_token"]
        ),
        204,
    ),
    "logout_all": (lambda api, w: api.call("POST", "/auth/logout-all", token=w.user["access_token"]), 204),
    "me": (lambda api, w: api.call("GET", "/me", token=w.user["access_token"]), 200),
    "admin_list": (lambda api, w: api.call("GET", "/admin/users", token=w.admin["access_token"]), 200),
    "admin_get": (
        lambda api, w: api.call(
            "GET", "/admin/users/{user_id}", token=w.admin["access_token"], path_params={"user_id": w.user["user_id"]}
        ),
        200,
    ),
    "admin_patch": (
        lambda api, w: api.call(
            "PATCH",
            "/admin/users/{user_id}",
            token=w.admin["access_token"],
            path_params={"user_id": w.user["user_id"]},
            body={"role": "admin", "status": "disabled"},
        ),
        200,
    ),
}
# Every DynamoDB call a route makes after the authorizer (the authorizer's own read is tested below).
DYNAMODB_PATHS = [
    ("register", "TransactWriteItems"),
    ("login", "BatchGetItem"),
    ("login", "UpdateItem"),
    ("login", "TransactWriteItems"),
    ("login_wrong_password", "BatchGetItem"),
    ("login_wrong_password", "UpdateItem"),
    ("login_wrong_password", "UpdateItem"),
    ("refresh", "BatchGetItem"),
    ("refresh", "TransactWriteItems"),
    ("refresh_cookie", "BatchGetItem"),
    ("refresh_cookie", "TransactWriteItems"),
    ("logout", "TransactWriteItems"),
    ("logout_all", "UpdateItem"),
    ("me", "GetItem"),
    ("admin_list", "Scan"),
    ("admin_list", "BatchGetItem"),
    ("admin_get", "Query"),
    ("admin_get", "GetItem"),
    ("admin_patch", "Query"),
    ("admin_patch", "GetItem"),
    ("admin_patch", "UpdateItem"),
]
TRANSACTION_PATHS = [(route, operation) for route, operation in DYNAMODB_PATHS if operation == "TransactWriteItems"]


@pytest.mark.parametrize(("route", "operation"), DYNAMODB_PATHS, ids=[f"{r}-{o}" for r, o in DYNAMODB_PATHS])
@ALL_DYNAMODB_FAULTS
def test_route_dynamodb_call_fails_answers_503_and_writes_nothing(
    aws: dict[str, Any], api: Any, world: World, faults: Faults, route: str, operation: str, fault: Fault
) -> None:
    call, success = ROUTES[route]
    before = snapshot(aws)
    faults.dynamodb(operation, fault)

    reply = call(api, world)

    assert faults.fired[operation] >= 1, f"{route} never called {operation}"
    assert_unavailable(reply)
    if route.startswith("login"):
        assert_unchanged_but_the_attempt(aws, before)
    else:
        assert snapshot(aws) == before
    faults.clear()
    # The same request, once DynamoDB is back: nothing of the failed attempt stands in its way.
    assert call(api, world).status == success


@pytest.mark.parametrize(("route", "operation"), TRANSACTION_PATHS, ids=[f"{r}-{o}" for r, o in TRANSACTION_PATHS])
def test_route_transaction_cancelled_by_throttling_answers_503_and_writes_nothing(
    aws: dict[str, Any], api: Any, world: World, faults: Faults, route: str, operation: str
) -> None:
    call, success = ROUTES[route]
    before = snapshot(aws)
    faults.dynamodb(operation, _transaction_throttled)

    reply = call(api, world)

    assert faults.fired[operation] >= 1
    assert_unavailable(reply)
    if route.startswith("login"):
        assert_unchanged_but_the_attempt(aws, before)
    else:
        assert snapshot(aws) == before
    faults.clear()
    assert call(api, world).status == success


@pytest.mark.parametrize("route", ["refresh", "me", "admin_list"])
def test_route_batch_get_keeps_unprocessed_keys_answers_503(
    aws: dict[str, Any], api: Any, world: World, faults: Faults, route: str
) -> None:
    """DynamoDB under throttling answers BatchGetItem with UnprocessedKeys; a bounded retry then a 503."""
    call, success = ROUTES[route]
    calls = []

    def nothing_processed(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        calls.append(params)
        unprocessed = {TOKENS: {"Keys": [{"pk": {"S": "RT#unprocessed"}}], "ConsistentRead": True}}
        return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 200, {}, None), {
            "Responses": {},
            "UnprocessedKeys": unprocessed,
        }

    before = snapshot(aws)
    faults.hook(container.dynamodb(), "BatchGetItem", nothing_processed)

    # The authorizer reads the same way: it raises, and API Gateway answers AUTHORIZER_FAILURE (503).
    assert_unavailable(call(api, world))

    assert 1 < len(calls) <= 5, "no bounded retry of the unprocessed keys"
    assert snapshot(aws) == before
    faults.clear()
    assert call(api, world).status == success


def test_register_write_fails_leaves_no_user_item(aws: dict[str, Any], api: Any, faults: Faults) -> None:
    faults.dynamodb("TransactWriteItems", DYNAMODB_FAULTS["throughput_exceeded"])

    reply = api.call("POST", "/auth/register", body={"email": "ada@example.com", "password": PASSWORD})

    assert_unavailable(reply)
    assert scan(aws, USERS) == []
    faults.clear()
    assert api.call("POST", "/auth/register", body={"email": "ada@example.com", "password": PASSWORD}).status == 201


@pytest.mark.parametrize("operation", ["BatchGetItem", "UpdateItem", "TransactWriteItems"])
def test_login_dynamodb_fails_leaves_no_session_items(
    aws: dict[str, Any], api: Any, faults: Faults, operation: str
) -> None:
    assert api.call("POST", "/auth/register", body={"email": "ada@example.com", "password": PASSWORD}).status == 201
    faults.dynamodb(operation, DYNAMODB_FAULTS["internal_error"])

    reply = api.call("POST", "/auth/login", body={"email": "ada@example.com", "password": PASSWORD})

    assert_unavailable(reply)
    assert token_items(aws, "SES#") == []


@pytest.mark.parametrize("operation", ["BatchGetItem", "TransactWriteItems"])
def test_refresh_dynamodb_fails_keeps_old_token_usable(
    aws: dict[str, Any], api: Any, signed_in: Callable[..., dict[str, Any]], faults: Faults, operation: str
) -> None:
    session = signed_in()
    sessions_before = token_items(aws, "SES#")
    faults.dynamodb(operation, DYNAMODB_FAULTS["throttled"])

    reply = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})

    assert_unavailable(reply)
    assert token_items(aws, "SES#") == sessions_before  # the old token still the live one, no successor
    assert [item["status"]["S"] for item in sessions_before] == ["active"]
    faults.clear()
    retried = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})
    assert retried.status == 200, retried.body
    assert api.call("POST", "/auth/refresh", body={"refresh_token": retried.body["refresh_token"]}).status == 200


@ALL_DYNAMODB_FAULTS
def test_refresh_reuse_revocation_fails_answers_503_then_revokes_on_retry(
    aws: dict[str, Any],
    api: Any,
    signed_in: Callable[..., dict[str, Any]],
    faults: Faults,
    monkeypatch: pytest.MonkeyPatch,
    fault: Fault,
) -> None:
    monkeypatch.setenv("REFRESH_REUSE_GRACE_SECONDS", "0")  # every second use of a token is reuse
    container.reset()
    session = signed_in()
    rotated = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})
    assert rotated.status == 200
    before = snapshot(aws)
    faults.dynamodb("TransactWriteItems", fault)

    reply = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})  # the reuse

    assert faults.fired["TransactWriteItems"] == 1
    assert_unavailable(reply)
    assert snapshot(aws) == before
    faults.clear()
    again = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})
    assert (again.status, again.body["error"]) == (401, "token_revoked")
    assert active_sessions(aws) == []
    successor = api.call("POST", "/auth/refresh", body={"refresh_token": rotated.body["refresh_token"]})
    assert (successor.status, successor.body["error"]) == (401, "token_revoked")


@pytest.mark.parametrize("operation", ["UpdateItem"])
def test_logout_all_dynamodb_fails_keeps_sessions_valid(
    aws: dict[str, Any], api: Any, signed_in: Callable[..., dict[str, Any]], faults: Faults, operation: str
) -> None:
    session = signed_in()
    faults.dynamodb(operation, DYNAMODB_FAULTS["unreachable"])

    reply = api.call("POST", "/auth/logout-all", token=session["access_token"])

    assert_unavailable(reply)
    faults.clear()
    # Half a logout-all would be worse than none: either every token stops working or none does.
    assert api.call("GET", "/me", token=session["access_token"]).status == 200
    assert api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]}).status == 200


def test_logout_transaction_fails_neither_revokes_nor_denylists(
    aws: dict[str, Any], api: Any, signed_in: Callable[..., dict[str, Any]], faults: Faults
) -> None:
    session = signed_in()
    faults.dynamodb("TransactWriteItems", DYNAMODB_FAULTS["read_timeout"])

    reply = api.call(
        "POST", "/auth/logout", body={"refresh_token": session["refresh_token"]}, token=session["access_token"]
    )

    assert_unavailable(reply)
    assert token_items(aws, "JTI#") == []
    assert len(active_sessions(aws)) == 1
    faults.clear()
    retried = api.call(
        "POST", "/auth/logout", body={"refresh_token": session["refresh_token"]}, token=session["access_token"]
    )
    assert retried.status == 204
    assert active_sessions(aws) == []
    assert len(token_items(aws, "JTI#")) == 1


@ALL_DYNAMODB_FAULTS
def test_logout_after_a_registry_change_when_its_reread_fails_writes_nothing(
    aws: dict[str, Any], api: Any, signed_in: Callable[..., dict[str, Any]], faults: Faults, fault: Fault
) -> None:
    session = signed_in()
    container.public_keys().key_set()  # warm
    registry = container.key_registry()
    read = registry.read()
    registry.replace(read, list(read.keys))  # a rotation: the logout's condition on the registry fails
    before = snapshot(aws)
    faults.dynamodb("GetItem", fault)
    call = {"body": {"refresh_token": session["refresh_token"]}, "token": session["access_token"]}

    assert_unavailable(api.call("POST", "/auth/logout", **call))
    assert snapshot(aws) == before
    faults.clear()
    assert api.call("POST", "/auth/logout", **call).status == 204
    assert active_sessions(aws) == []
    assert len(token_items(aws, "JTI#")) == 1


@pytest.mark.parametrize("route", ["me", "logout_all", "admin_list"])
@ALL_DYNAMODB_FAULTS
def test_authorize_dynamodb_fails_answers_the_gateways_503(
    aws: dict[str, Any], api: Any, world: World, faults: Faults, route: str, fault: Fault
) -> None:
    """A failing authorizer raises: API Gateway's AUTHORIZER_FAILURE, which the template answers with the 503 body."""
    call, success = ROUTES[route]
    faults.dynamodb("BatchGetItem", fault)

    assert_unavailable(call(api, world))

    assert faults.fired["BatchGetItem"] >= 1
    faults.clear()
    assert call(api, world).status == success


SECRETS_ROUTES = ["login", "refresh", "refresh_cookie", "logout"]


@pytest.mark.parametrize("route", SECRETS_ROUTES)
@pytest.mark.parametrize("fault", SECRETS_FAULTS.values(), ids=SECRETS_FAULTS.keys())
def test_route_secrets_manager_down_at_cold_start_answers_503_and_writes_nothing(
    aws: dict[str, Any], api: Any, world: World, faults: Faults, route: str, fault: Fault
) -> None:
    call, success = ROUTES[route]
    container.reset()  # a cold start: the signing key is not cached
    before = snapshot(aws)
    faults.secretsmanager(fault)

    reply = call(api, world)

    assert faults.fired["GetSecretValue"] >= 1
    assert_unavailable(reply)
    if route.startswith("login"):
        assert_unchanged_but_the_attempt(aws, before)
    else:
        assert snapshot(aws) == before
    faults.clear()
    assert call(api, world).status == success


@pytest.mark.parametrize("fault", SECRETS_FAULTS.values(), ids=SECRETS_FAULTS.keys())
def test_authorize_secrets_manager_down_at_cold_start_does_not_matter(
    aws: dict[str, Any], api: Any, world: World, faults: Faults, fault: Fault
) -> None:
    """The authorizer verifies ES256 with public keys from DynamoDB: it never reads the service's secret."""
    call, success = ROUTES["me"]
    container.reset()
    faults.secretsmanager(fault)

    assert call(api, world).status == success

    assert faults.fired["GetSecretValue"] == 0


def cold_admin_function_while_secrets_manager_fails(
    api: Any, monkeypatch: pytest.MonkeyPatch, faults: Faults, fault: Fault
) -> None:
    """The next invocation of the admin function is a cold start (nothing cached) with Secrets Manager failing; the
    authorizer, a Lambda of its own with its key already cached, is not touched."""
    lambdas = api.gateway.lambdas
    invoke = lambdas.invoke

    def cold(logical_id: str, event: dict[str, Any], request_id: str) -> Any:
        if logical_id == "AdminFunction":
            monkeypatch.setattr(lambdas, "invoke", invoke)  # this invocation only
            container.reset()
            faults.secretsmanager(fault)
        return invoke(logical_id, event, request_id)

    monkeypatch.setattr(lambdas, "invoke", cold)


@pytest.mark.parametrize("has_cursor", [False, True], ids=["sealing_next_cursor", "opening_cursor"])
@pytest.mark.parametrize("fault", SECRETS_FAULTS.values(), ids=SECRETS_FAULTS.keys())
def test_admin_list_secrets_manager_down_at_cold_start_answers_503(
    aws: dict[str, Any],
    api: Any,
    world: World,
    faults: Faults,
    monkeypatch: pytest.MonkeyPatch,
    has_cursor: bool,
    fault: Fault,
) -> None:
    """A cursor is sealed and opened with a key derived from the secret: without the secret, a 503 (never a 400 that
    would call a good cursor forged, never a page without its next cursor)."""
    query = {"limit": "1"}
    if has_cursor:
        first = api.call("GET", "/admin/users", token=world.admin["access_token"], query=query)
        query["cursor"] = first.body["next_cursor"]
    cold_admin_function_while_secrets_manager_fails(api, monkeypatch, faults, fault)

    reply = api.call("GET", "/admin/users", token=world.admin["access_token"], query=query)

    assert faults.fired["GetSecretValue"] >= 1
    assert_unavailable(reply)
    faults.clear()
    again = api.call("GET", "/admin/users", token=world.admin["access_token"], query=query)
    assert again.status == 200, again.body
    if has_cursor:  # the page after the first one: the other of the two users
        assert {user["email"] for user in first.body["users"] + again.body["users"]} == {
            "ada@example.com",
            "root@example.com",
        }
    else:
        assert len(again.body["users"]) == 1
        assert again.body["next_cursor"]


def _reply_outcome(reply: Any) -> str:
    return "200" if reply.status == 200 else f"{reply.status} {reply.body.get('error')}"


@pytest.mark.parametrize("grace", ["10", "0"], ids=["inside_grace", "no_grace"])
def test_refresh_rotated_between_read_and_write_keeps_one_live_token(
    aws: dict[str, Any],
    api: Any,
    signed_in: Callable[..., dict[str, Any]],
    faults: Faults,
    monkeypatch: pytest.MonkeyPatch,
    grace: str,
) -> None:
    """Two refreshes of one token: the first rotation lands after the second has read the session, before it
    writes. Inside the grace window both get the same successor; without one, the second is reuse."""
    monkeypatch.setenv("REFRESH_REUSE_GRACE_SECONDS", grace)
    container.reset()
    token = signed_in()["refresh_token"]
    first: list[Any] = []

    def rotate_first(**_: Any) -> None:
        if not first:
            first.append("running")
            first[0] = container.auth_service().refresh(refresh_token=token)

    faults.hook(container.dynamodb(), "TransactWriteItems", rotate_first)

    second = api.call("POST", "/auth/refresh", body={"refresh_token": token})

    faults.clear()
    [stored] = token_items(aws, "SES#")
    if grace == "10":
        assert second.status == 200, second.body
        assert second.body["refresh_token"] == first[0].refresh_token  # one live token, whichever answer is kept
        assert stored["status"]["S"] == "active"
        assert api.call("POST", "/auth/refresh", body={"refresh_token": second.body["refresh_token"]}).status == 200
    else:
        assert (second.status, second.body["error"]) == (401, "token_revoked")
        assert stored["status"]["S"] == "revoked"
        again = api.call("POST", "/auth/refresh", body={"refresh_token": first[0].refresh_token})
        assert (again.status, again.body["error"]) == (401, "token_revoked")


@pytest.mark.parametrize(
    ("grace", "expected"),
    [("10", ["200", "200"]), ("0", ["200", "401 token_revoked"])],
    ids=["inside_grace", "no_grace"],
)
def test_refresh_same_token_twice_replays_or_revokes(
    aws: dict[str, Any],
    api: Any,
    signed_in: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    grace: str,
    expected: list[str],
) -> None:
    monkeypatch.setenv("REFRESH_REUSE_GRACE_SECONDS", grace)
    container.reset()
    token = signed_in()["refresh_token"]

    replies = [api.call("POST", "/auth/refresh", body={"refresh_token": token}) for _ in range(2)]

    assert [_reply_outcome(reply) for reply in replies] == expected
    assert len(token_items(aws, "SES#")) == 1
    assert len(active_sessions(aws)) == (1 if expected[1] == "200" else 0)
    if expected[1] == "200":
        assert replies[0].body["refresh_token"] == replies[1].body["refresh_token"]


def test_refresh_session_ended_between_read_and_write_answers_401_without_successor(
    aws: dict[str, Any], api: Any, signed_in: Callable[..., dict[str, Any]], faults: Faults
) -> None:
    session = signed_in()
    [before] = token_items(aws, "SES#")
    ended: list[bool] = []

    def logout_first(**_: Any) -> None:
        if not ended:
            ended.append(True)
            container.auth_service().logout(refresh_token=session["refresh_token"], access_token=None)

    faults.hook(container.dynamodb(), "TransactWriteItems", logout_first)

    reply = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})

    assert (reply.status, reply.body["error"]) == (401, "token_revoked")
    assert reply.header("x-amzn-Remapped-WWW-Authenticate") is not None  # API Gateway renames a function's challenge
    [after] = token_items(aws, "SES#")
    assert after["current_hash"] == before["current_hash"]  # no successor
    assert active_sessions(aws) == []


UNEXPECTED = [
    ("register", AccountService, "register"),
    ("login", AuthService, "login"),
    ("refresh", AuthService, "refresh"),
    ("logout", AuthService, "logout"),
    ("logout_all", AuthService, "logout_all"),
    ("me", AuthService, "current_user"),
    ("admin_list", AdminService, "list_users"),
    ("admin_get", AdminService, "get_user"),
    ("admin_patch", AdminService, "update_user"),
]


@pytest.mark.parametrize(("route", "service", "method"), UNEXPECTED, ids=[route for route, _, _ in UNEXPECTED])
def test_route_unexpected_exception_answers_500_with_request_id(
    aws: dict[str, Any],
    api: Any,
    world: World,
    request_ids: list[str],
    monkeypatch: pytest.MonkeyPatch,
    route: str,
    service: type,
    method: str,
) -> None:
    def explode(*_: Any, **__: Any) -> None:
        raise RuntimeError("secret-table-name")

    monkeypatch.setattr(service, method, explode)
    call, _ = ROUTES[route]

    reply = call(api, world)

    assert reply.status == 500, reply.raw_body
    assert set(reply.body) == {"error", "message"}
    assert reply.body["error"] == "internal_error"
    assert request_ids[-1] in reply.body["message"]
    for leak in ("secret-table-name", "RuntimeError", "Traceback", *LEAKS):
        assert leak not in reply.raw_body, leak
    assert_security_headers(reply)


# A hanging dependency must become a 503 inside the function's own timeout (template.yaml Globals), with room left
# for the rest of the request: bcrypt at the production cost 12 on a 512 MB Lambda (about a third of a vCPU) alone
# takes most of a second, plus the calls that did answer. Past the timeout the client gets API Gateway's 5xx instead.
REST_OF_REQUEST_SECONDS = 2.0
HANGS = {
    "read_timeout": (ReadTimeoutError, "read_timeout"),
    "connect_timeout": (ConnectTimeoutError, "connect_timeout"),
}
HANG_PATHS = [
    ("dynamodb", "register", "TransactWriteItems"),
    ("dynamodb", "login", "TransactWriteItems"),
    ("dynamodb", "refresh", "TransactWriteItems"),
    ("dynamodb", "me", "GetItem"),
    ("dynamodb", "admin_patch", "UpdateItem"),
    ("secretsmanager", "login", "GetSecretValue"),
]


@pytest.mark.parametrize("hang", HANGS)
@pytest.mark.parametrize(("service", "route", "operation"), HANG_PATHS, ids=[f"{r}-{o}" for _, r, o in HANG_PATHS])
def test_route_dependency_hangs_answers_503_before_function_timeout(
    aws: dict[str, Any],
    api: Any,
    world: World,
    faults: Faults,
    monkeypatch: pytest.MonkeyPatch,
    service: str,
    route: str,
    operation: str,
    hang: str,
) -> None:
    """Every attempt botocore makes waits out its timeout; the retry delays are counted, not slept."""
    error, timeout_setting = HANGS[hang]
    call, _ = ROUTES[route]
    if service == "secretsmanager":
        container.reset()  # a cold start: the key has to be fetched
    client = container.dynamodb() if service == "dynamodb" else container.secretsmanager()
    timeout = getattr(client.meta.config, timeout_setting)
    attempts: list[float] = []
    delays: list[float] = []

    def time_out(**_: Any) -> None:
        attempts.append(timeout)
        raise error(endpoint_url=f"https://{service}.us-east-1.amazonaws.com/")

    monkeypatch.setattr("botocore.endpoint.time.sleep", delays.append)
    faults.hook(client, operation, time_out, stage="before-send")

    reply = call(api, world)

    assert_unavailable(reply)
    assert len(attempts) > 1, "the timed-out call was not retried at all"
    waited = sum(attempts) + sum(delays)
    function_timeout = aws["template"]["Globals"]["Function"]["Timeout"]
    assert waited + REST_OF_REQUEST_SECONDS <= function_timeout, (
        f"{len(attempts)} attempts of {timeout} s and {sum(delays):.2f} s of backoff: {waited:.2f} s"
    )


@pytest.mark.parametrize(
    ("grace", "expected"), [("10", 200), ("0", 401)], ids=["retry_inside_grace", "retry_without_grace"]
)
def test_refresh_response_lost_after_rotation_retry_branches_or_revokes(
    aws: dict[str, Any],
    api: Any,
    signed_in: Callable[..., dict[str, Any]],
    faults: Faults,
    monkeypatch: pytest.MonkeyPatch,
    grace: str,
    expected: int,
) -> None:
    """The rotation lands but its answer never arrives: the client saw a 503 and retries with the same token."""
    monkeypatch.setenv("REFRESH_REUSE_GRACE_SECONDS", grace)
    container.reset()
    session = signed_in()

    def lose_response(**_: Any) -> None:
        raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/")

    faults.hook(container.dynamodb(), "TransactWriteItems", lose_response, stage="after-call")

    lost = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})

    assert_unavailable(lost)
    [rotated] = token_items(aws, "SES#")
    assert "previous_hash" in rotated  # it did land
    faults.clear()
    retried = api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]})
    assert retried.status == expected, retried.body
    assert len(active_sessions(aws)) == (1 if expected == 200 else 0)
    if expected == 200:  # the retry was handed the successor the lost answer carried: the live token
        assert api.call("POST", "/auth/refresh", body={"refresh_token": retried.body["refresh_token"]}).status == 200

"""What the service writes to its logs over a whole session: no secret ever, and one audit line per security event.

Powertools Logger writes JSON lines to the stdout it saw at import; the `logs` fixture (tests/conftest.py) points it
at the captured stdout, so every line a request writes (the audit trail, errors, the EMF metrics) is read back here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from auth_core import container
from tests.conftest import PASSWORD, TEST_ENV

USERS = TEST_ENV["USERS_TABLE_NAME"]
ADA, BOB, DAVE, ROOT = "ada@example.com", "bob@example.com", "dave@example.com", "root@example.com"
BOB_PASSWORD = "Bob's very own pass phrase 7"
ROOT_PASSWORD = "Admin pass phrase for root 9"
WRONG_PASSWORD = "Not the password of ada 123"
INVALID_PASSWORD = "weakpw"  # refused by the policy: the 400 must not echo it, and no log line either
BROKEN_JSON_PASSWORD = "in-a-broken-body Passw0rd!"


@dataclass
class Step:
    reply: Any
    request_id: str
    source_ip: str


@dataclass
class Flow:
    """The whole session: each named request's reply, request id and source IP, and everything logged meanwhile."""

    steps: dict[str, Step] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, set[str]] = field(default_factory=dict)

    def records(self) -> list[dict[str, Any]]:
        parsed = []
        for line in self.lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                parsed.append(record)
        return parsed

    def audit(self, step: str) -> list[dict[str, Any]]:
        """The audit lines the request of `step` wrote."""
        request_id = self.steps[step].request_id
        return [r for r in self.records() if r.get("audit") is True and r.get("correlation_id") == request_id]


@pytest.fixture
def flow(
    aws: dict[str, Any],
    api: Any,
    logs: Callable[[], list[str]],
    request_ids: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Flow:
    """Register, sign in, use and end sessions, administer a user: every security event once, in one run."""
    monkeypatch.setenv("REFRESH_REUSE_GRACE_SECONDS", "0")  # a second use of a refresh token is reuse at once
    container.reset()
    result = Flow()
    addresses = iter(f"198.51.100.{n}" for n in range(1, 255))

    def step(name: str, method: str, route: str, **kwargs: Any) -> Any:
        source_ip = next(addresses)
        reply = api.call(method, route, source_ip=source_ip, **kwargs)
        result.steps[name] = Step(reply, request_ids[-1], source_ip)
        return reply

    def ok(reply: Any, status: int) -> Any:
        assert reply.status == status, reply.raw_body
        return reply.body

    def creds(email: str, password: str) -> dict[str, str]:
        return {"email": email, "password": password}

    ada = ok(step("register", "POST", "/auth/register", body=creds(ADA, PASSWORD)), 201)["user"]
    ok(step("register_email_taken", "POST", "/auth/register", body=creds(ADA, PASSWORD)), 409)
    bob = ok(step("register_bob", "POST", "/auth/register", body=creds(BOB, BOB_PASSWORD)), 201)["user"]
    ok(step("register_invalid", "POST", "/auth/register", body=creds("not-an-email", INVALID_PASSWORD)), 400)
    ok(step("register_weak", "POST", "/auth/register", body=creds("carl@example.com", INVALID_PASSWORD)), 400)
    broken = '{"email": "ada@example.com", "password": "' + BROKEN_JSON_PASSWORD
    ok(step("login_broken_json", "POST", "/auth/login", raw_body=broken), 400)
    ok(step("login_extra_field", "POST", "/auth/login", body={**creds(ADA, PASSWORD), "role": "admin"}), 400)
    ok(step("login_wrong_password", "POST", "/auth/login", body=creds(ADA, WRONG_PASSWORD)), 401)
    ok(step("login_unknown_email", "POST", "/auth/login", body=creds("nobody@example.com", PASSWORD)), 401)
    dave = ok(step("register_dave", "POST", "/auth/register", body=creds(DAVE, PASSWORD)), 201)["user"]
    for attempt in range(5):  # the fifth failure locks dave's logins for a while
        ok(step(f"login_dave_failure_{attempt}", "POST", "/auth/login", body=creds(DAVE, WRONG_PASSWORD)), 401)
    throttled = step("login_throttled", "POST", "/auth/login", body=creds(DAVE, PASSWORD))
    assert (throttled.status, throttled.body["error"]) == (429, "too_many_attempts")

    first = ok(step("login", "POST", "/auth/login", body=creds(ADA, PASSWORD)), 200)
    ok(step("me", "GET", "/me", token=first["access_token"]), 200)
    by_body = ok(step("refresh_body", "POST", "/auth/refresh", body={"refresh_token": first["refresh_token"]}), 200)
    cookie = {"Cookie": f"refresh_token={by_body['refresh_token']}"}
    by_cookie = ok(step("refresh_cookie", "POST", "/auth/refresh", headers=cookie), 200)
    reused = step("refresh_reuse_detected", "POST", "/auth/refresh", body={"refresh_token": first["refresh_token"]})
    assert (reused.status, reused.body["error"]) == (401, "token_revoked")
    revoked = step("refresh_revoked", "POST", "/auth/refresh", body={"refresh_token": by_cookie["refresh_token"]})
    assert (revoked.status, revoked.body["error"]) == (401, "token_revoked")

    second = ok(step("login_again", "POST", "/auth/login", body=creds(ADA, PASSWORD)), 200)
    logout_body = {"refresh_token": second["refresh_token"]}
    ok(step("logout", "POST", "/auth/logout", body=logout_body, token=second["access_token"]), 204)
    third = ok(step("login_third", "POST", "/auth/login", body=creds(ADA, PASSWORD)), 200)
    ok(step("logout_all", "POST", "/auth/logout-all", token=third["access_token"]), 204)

    root = container.auth_service().create_admin(email=ROOT, password=ROOT_PASSWORD)
    admin = ok(step("login_admin", "POST", "/auth/login", body=creds(ROOT, ROOT_PASSWORD)), 200)
    bob_session = ok(step("login_bob", "POST", "/auth/login", body=creds(BOB, BOB_PASSWORD)), 200)
    target = {"user_id": bob["id"]}
    patch = {"token": admin["access_token"], "path_params": target}
    ok(step("admin_list", "GET", "/admin/users", token=admin["access_token"]), 200)
    ok(step("admin_get", "GET", "/admin/users/{user_id}", **patch), 200)
    ok(step("role_change", "PATCH", "/admin/users/{user_id}", body={"role": "admin"}, **patch), 200)
    ok(step("disable", "PATCH", "/admin/users/{user_id}", body={"status": "disabled"}, **patch), 200)
    denied = step("refresh_disabled", "POST", "/auth/refresh", body={"refresh_token": bob_session["refresh_token"]})
    assert denied.status == 401

    result.ids = {"ada": ada["id"], "bob": bob["id"], "dave": dave["id"], "root": root.id}
    result.lines = list(logs())
    pairs = [first, by_body, by_cookie, second, third, admin, bob_session]
    tokens = {"access_token": set(), "refresh_token": set()}
    for pair in pairs:
        tokens["access_token"].add(pair["access_token"])
        tokens["refresh_token"].add(pair["refresh_token"])
    versions = aws["secretsmanager"].list_secret_version_ids(SecretId=TEST_ENV["SIGNING_KEY_SECRET_ARN"])["Versions"]
    signing_keys = {
        json.loads(
            aws["secretsmanager"].get_secret_value(
                SecretId=TEST_ENV["SIGNING_KEY_SECRET_ARN"], VersionId=version["VersionId"]
            )["SecretString"]
        )["key"]
        for version in versions
    }
    result.secrets = {
        "password": {PASSWORD, BOB_PASSWORD, ROOT_PASSWORD, WRONG_PASSWORD, INVALID_PASSWORD, BROKEN_JSON_PASSWORD},
        **tokens,
        "token_signature": {token.rsplit(".", 1)[1] for kind in tokens.values() for token in kind},
        "password_hash": {item["password_hash"]["S"] for item in aws["dynamodb"].scan(TableName=USERS)["Items"]},
        "signing_key": signing_keys,
    }
    return result


SECRET_KINDS = ["password", "access_token", "refresh_token", "token_signature", "password_hash", "signing_key"]


@pytest.mark.parametrize("kind", SECRET_KINDS)
def test_flow_secret_never_logged(flow: Flow, kind: str) -> None:
    secrets = flow.secrets[kind]
    assert secrets, f"the flow collected no {kind}"
    assert flow.lines, "nothing was captured"
    leaks = [(secret[:12], line[:200]) for secret in secrets for line in flow.lines if secret in line]
    assert leaks == []


def test_flow_log_lines_all_json(flow: Flow) -> None:
    assert len(flow.records()) == len(flow.lines), [line for line in flow.lines if not line.startswith("{")]


# step -> (event, outcome, whose user id: a key of Flow.ids or None for an unknown account)
AUDITED = {
    "register": ("register", "success", "ada"),
    "register_email_taken": ("register", "failure", None),
    "login": ("login", "success", "ada"),
    "login_wrong_password": ("login", "failure", "ada"),
    "login_unknown_email": ("login", "failure", None),
    "login_dave_failure_4": ("login", "failure", "dave"),
    "login_throttled": ("login", "throttled", "dave"),
    "refresh_body": ("refresh", "success", "ada"),
    "refresh_cookie": ("refresh", "success", "ada"),
    "refresh_reuse_detected": ("refresh_reuse_detected", "revoked", "ada"),
    "logout": ("logout", "success", "ada"),
    "logout_all": ("logout_all", "success", "ada"),
    "role_change": ("role_change", "success", "bob"),
    "disable": ("disable", "success", "bob"),
}


@pytest.mark.parametrize("step", AUDITED)
def test_security_event_writes_one_audit_line(flow: Flow, step: str) -> None:
    event, outcome, whose = AUDITED[step]
    lines = [record for record in flow.audit(step) if record.get("event") == event]
    assert len(lines) == 1, flow.audit(step)
    line = lines[0]
    assert line["outcome"] == outcome
    assert line.get("user_id") == (flow.ids[whose] if whose else None)
    assert line["correlation_id"] == flow.steps[step].request_id
    assert line["source_ip"] == flow.steps[step].source_ip


@pytest.mark.parametrize("step", ["role_change", "disable"])
def test_admin_change_audit_line_names_actor(flow: Flow, step: str) -> None:
    (line,) = flow.audit(step)
    assert line["actor_id"] == flow.ids["root"]


@pytest.mark.parametrize(
    "step", ["register_invalid", "register_weak", "login_broken_json", "login_extra_field", "me", "admin_list"]
)
def test_request_without_security_event_writes_no_audit_line(flow: Flow, step: str) -> None:
    assert flow.audit(step) == []


def test_unexpected_error_logs_trace_under_request_id(
    aws: dict[str, Any], api: Any, logs: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 500 tells the client only a reference; the trace is in the logs under that same request id."""
    from auth_core.account import AccountService

    def explode(*_: Any, **__: Any) -> None:
        raise RuntimeError("secret-table-name")

    monkeypatch.setattr(AccountService, "register", explode)

    reply = api.call("POST", "/auth/register", body={"email": ADA, "password": PASSWORD})

    assert reply.status == 500
    records = _json_records(logs())
    errors = [r for r in records if r.get("level") == "ERROR" and r.get("correlation_id")]
    assert len(errors) == 1, records
    assert errors[0]["correlation_id"] in reply.body["message"]
    assert "secret-table-name" in errors[0].get("exception", "")
    assert PASSWORD not in json.dumps(records)


def _json_records(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line.startswith("{")]


DEPENDENCY_FAILURES = [("register", "TransactWriteItems"), ("login", "TransactWriteItems"), ("refresh", "BatchGetItem")]


@pytest.mark.parametrize(("route", "operation"), DEPENDENCY_FAILURES)
def test_dependency_failure_logs_cause_under_request_id(
    aws: dict[str, Any],
    api: Any,
    signed_in: Callable[..., dict[str, Any]],
    logs: Callable[[], list[str]],
    request_ids: list[str],
    route: str,
    operation: str,
) -> None:
    """A 503 tells the client nothing; the operator must find out why under the request id."""
    from botocore.exceptions import ClientError

    session = signed_in(BOB, password=BOB_PASSWORD)
    calls = {
        "register": lambda: api.call("POST", "/auth/register", body={"email": ADA, "password": PASSWORD}),
        "login": lambda: api.call("POST", "/auth/login", body={"email": BOB, "password": BOB_PASSWORD}),
        "refresh": lambda: api.call("POST", "/auth/refresh", body={"refresh_token": session["refresh_token"]}),
    }
    client, event = container.dynamodb(), f"before-call.dynamodb.{operation}"

    def throttle(**_: Any) -> None:
        error = {"Code": "ProvisionedThroughputExceededException", "Message": "Rate of requests exceeds capacity"}
        raise ClientError({"Error": error}, operation)

    client.meta.events.register_first(event, throttle, unique_id="log-fault")
    try:
        reply = calls[route]()
    finally:
        client.meta.events.unregister(event, unique_id="log-fault")

    assert reply.status == 503
    mine = [r for r in _json_records(logs()) if r.get("correlation_id") == request_ids[-1]]
    problems = [r for r in mine if r.get("level") in ("WARNING", "ERROR")]
    assert len(problems) == 1, mine
    assert "ProvisionedThroughputExceededException" in json.dumps(problems[0])
    assert PASSWORD not in json.dumps(mine)
    assert BOB_PASSWORD not in json.dumps(mine)

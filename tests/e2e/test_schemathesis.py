"""Schemathesis: generated requests for every operation of infra/openapi.json, sent to the local API, each response
checked against the document (status, content type, body schema, declared headers) and for server errors.

One module fixture runs it all once (bounded: MAX_EXAMPLES per operation, mode and caller; reproducible:
Hypothesis derandomized, no example database) and records every failed check; one test per check then asserts
that check never failed. Callers: anonymous for every operation; for the protected ones also the admin (so the
requests get past the authorizer into the handlers) and a normal user (403 on the admin routes); logout and
logout-all get a freshly signed-in user per case, since each call ends that user's session(s).

"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.localapi import ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, Client

DOCUMENT = Path(__file__).resolve().parents[2] / "infra" / "openapi.json"
MAX_EXAMPLES = 25
EXPECTED_OPERATIONS = 9
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
)
HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate],  # no shrinking: every failure is recorded, none raised
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
# Requests that end a session get a caller of their own, signed in afresh for each case.
ENDS_SESSIONS = {"POST /auth/logout", "POST /auth/logout-all"}


@dataclass(frozen=True)
class Finding:
    check: str
    operation: str
    caller: str
    source: str  # positive, negative or explicit
    status: int
    body: bytes
    report: str

    def __str__(self) -> str:
        return f"{self.check}: {self.operation} as {self.caller} ({self.source}) -> {self.status}\n{self.report}"


@dataclass
class Run:
    operations: list[str] = field(default_factory=list)
    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, str, int]] = field(default_factory=Counter)  # (operation, caller, status)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    def failed(self, check: str) -> list[Finding]:
        return [finding for finding in self.findings if finding.check == check]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _sent_body(response: schemathesis.Response) -> bytes:
    body = response.request.body
    if body is None:
        return b""
    return body if isinstance(body, bytes) else str(body).encode()


def _exercise(
    run: Run, base_url: str, case: schemathesis.Case, caller: str, headers: dict[str, str], source: str
) -> None:
    label = case.operation.label
    response = case.call(base_url=base_url, headers=headers, timeout=10)
    run.cases[label] += 1
    run.statuses[(label, caller, response.status_code)] += 1
    for check in CHECKS:
        try:
            case.validate_response(response, checks=[check], headers=headers)
        except schemathesis.errors.FailureGroup as group:
            run.findings.append(
                Finding(check.__name__, label, caller, source, response.status_code, _sent_body(response), str(group))
            )


def _fuzz(run: Run, base_url: str, operation: Any, caller: str, headers: Callable[[], dict[str, str]]) -> None:
    modes = [GenerationMode.POSITIVE]
    if operation.body or operation.query or operation.path_parameters:
        modes.append(GenerationMode.NEGATIVE)  # with nothing to negate, Hypothesis would find no case at all
    for mode in modes:
        _generate(run, base_url, operation, mode, caller, headers)


def _generate(
    run: Run, base_url: str, operation: Any, mode: GenerationMode, caller: str, headers: Callable[[], dict[str, str]]
) -> None:
    @HYPOTHESIS
    @given(case=operation.as_strategy(generation_mode=mode))
    def generated(case: schemathesis.Case) -> None:
        _exercise(run, base_url, case, caller, headers(), mode.value)

    generated()


def _explicit_cases(run: Run, base_url: str, operation: Any, admin: dict[str, str]) -> None:
    """Bodies no JSON Schema generates: bytes that aren't UTF-8, and a text/plain body."""
    if not operation.body:
        return
    headers = admin if operation.definition.raw.get("security") else {}
    path_parameters = {parameter.name: "A" * 22 for parameter in operation.path_parameters}  # no such user
    for body, media_type in ((b'{"email": "\xff\xfe"}', "application/json"), ("hello", "text/plain")):
        case = operation.Case(body=body, media_type=media_type, path_parameters=path_parameters)
        _exercise(run, base_url, case, "admin" if headers else "anonymous", headers, "explicit")


@pytest.fixture(scope="module")
def fuzzed(base_url: str) -> Run:
    client = Client(base_url)
    admin = _bearer(client.login(ADMIN_EMAIL, ADMIN_PASSWORD).body["access_token"])
    user_email, sessions_email = (f"schemathesis-{name}-{time.time_ns()}@example.com" for name in ("user", "sessions"))
    client.register(user_email)
    user = _bearer(client.login(user_email).body["access_token"])
    # Another user for logout and logout-all: logout-all ends every session of its user, `user`'s would go too.
    client.register(sessions_email)

    def fresh_user() -> dict[str, str]:
        return _bearer(client.login(sessions_email, PASSWORD).body["access_token"])

    schema = schemathesis.openapi.from_path(DOCUMENT, config=schemathesis.Config())
    # No made-up Authorization header from the security scheme: each caller below sends its own, or none.
    schema.config.generation.update(with_security_parameters=False)
    run = Run()
    started = time.perf_counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        run.operations.append(operation.label)
        _fuzz(run, base_url, operation, "anonymous", dict)
        if operation.label in ENDS_SESSIONS:
            _fuzz(run, base_url, operation, "a freshly signed-in user", fresh_user)
        elif operation.definition.raw.get("security"):
            _fuzz(run, base_url, operation, "admin", lambda: admin)
            _fuzz(run, base_url, operation, "user", lambda: user)
        _explicit_cases(run, base_url, operation, admin)
    run.seconds = time.perf_counter() - started
    # The admin's and the user's tokens lasted the whole run (or their cases tested only the authorizer's 401).
    for caller in (admin, user):
        assert client.request("GET", "/me", headers=caller).status == 200
    return run


def test_every_operation_was_exercised(fuzzed: Run) -> None:
    print(
        f"schemathesis: {len(fuzzed.operations)} operations, {fuzzed.cases.total()} cases in {fuzzed.seconds:.1f} s; "
        + ", ".join(f"{label}: {count}" for label, count in sorted(fuzzed.cases.items()))
    )
    for (label, caller, status), count in sorted(fuzzed.statuses.items()):
        print(f"  {label} as {caller}: {count}x {status}")
    assert len(fuzzed.operations) == EXPECTED_OPERATIONS, fuzzed.operations
    assert set(fuzzed.cases) == set(fuzzed.operations)
    # Each caller got past the authorizer: the handlers answered, not only the authorizer's 401.
    assert fuzzed.statuses[("GET /admin/users", "admin", 200)] > 0
    assert fuzzed.statuses[("GET /admin/users/{user_id}", "admin", 404)] > 0
    assert fuzzed.statuses[("GET /admin/users", "user", 403)] > 0
    assert fuzzed.statuses[("GET /me", "admin", 200)] == fuzzed.statuses[("GET /me", "user", 200)] == 1
    assert fuzzed.statuses[("POST /auth/logout-all", "a freshly signed-in user", 204)] == 1
    assert fuzzed.statuses[("GET /me", "anonymous", 401)] == 1


@pytest.mark.parametrize("check", [check.__name__ for check in CHECKS])
def test_check_holds_for_every_generated_case(fuzzed: Run, check: str) -> None:
    failures = fuzzed.failed(check)
    shown = "\n\n".join(str(finding) for finding in failures[:5])
    assert not failures, f"{len(failures)} case(s) failed {check}; the first ones:\n\n{shown}"

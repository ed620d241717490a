"""Schemathesis with every check it has (the CLI's `--checks all`): generated requests for every operation of
infra/openapi.json, sent to the local API, each response checked against the document (status, content type, body
schema, declared headers), for server errors, for schema-valid requests rejected and invalid ones accepted, for
undeclared methods, and for authentication the document declares.

Two of the CLI's phases: coverage (deterministic cases at each boundary of the schema, missing and extra parts,
undeclared methods, wrong content types) and fuzzing (Hypothesis, derandomized, no example database, MAX_EXAMPLES
per operation, mode and caller); the stateful phase needs links between operations, which the document doesn't
declare. One module fixture runs it all once and records every failed check;
one test per check then asserts that check never failed. Callers: anonymous for every operation; for the protected
ones also the admin (so the requests get past the authorizer into the handlers) and a normal user (403 on the admin
routes); logout and logout-all get a freshly signed-in user per case, since each call ends that user's session(s);
a password change gets a user of its own, since each wrong current password counts against that user's logins.
"""

from __future__ import annotations

import re
import string
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import load_all_checks
from schemathesis.generation.meta import CoverageScenario

from auth_core.mailer import RESET_PATH, VERIFY_PATH
from auth_core.passwords import password_problems
from infra.outbox import OUTBOX_PATH
from tests.e2e.localapi import ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, Client

DOCUMENT = Path(__file__).resolve().parents[2] / "infra" / "openapi.json"
MAX_EXAMPLES = 25
EXPECTED_OPERATIONS = 18  # the sixteen API routes and the two /.well-known/ documents
NOT_FOUND = '{"error":"not_found","message":"No such route."}'  # the template's MISSING_AUTHENTICATION_TOKEN


def undeclared_method_is_the_gateways_not_found(ctx: Any, response: schemathesis.Response, case: Any) -> bool:
    """In place of schemathesis's `unsupported_method`, which wants 405: API Gateway answers a method a resource
    doesn't have with the MISSING_AUTHENTICATION_TOKEN gateway response (the template makes it 404 not_found), and a
    REST API can't answer 405 without a mock integration on every resource for every other method. OPTIONS is left
    out, as `unsupported_method` leaves it out: the template's CORS preflight routes answer it."""
    meta = case.meta
    scenario = getattr(meta.phase.data, "scenario", None) if meta is not None else None
    if scenario != CoverageScenario.UNSPECIFIED_HTTP_METHOD or response.request.method == "OPTIONS":
        return True
    if (response.status_code, response.text) != (404, NOT_FOUND):
        raise AssertionError(f"{response.request.method} {case.path}: {response.status_code} {response.text[:200]}")
    return True


load_all_checks()
CHECKS = (
    *(check for check in REGISTERED_CHECKS.get_all() if check.__name__ != "unsupported_method"),
    undeclared_method_is_the_gateways_not_found,
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
# A wrong current password is a failed login of the caller, and five lock its logins: not the admin's or the user's.
CHANGES_PASSWORD = "POST /me/password"
# The operations whose `token` only an emailed link hands out, and the path of that link (the demo page that opens it).
LINK_PATHS = {"POST /auth/verify-email": VERIFY_PATH, "POST /auth/password/reset": RESET_PATH}
# What `format: password` means for this API (a new password's description says it in words: length, character
# classes, not common, not the email's local part): passwords the policy takes, as a client that read it would send.
# Chunks of at most three characters between spaces: no 4-character local part of an email can be inside one.
POLICY_PASSWORDS = st.builds(
    "{} {} {} !".format,
    st.sampled_from(string.ascii_uppercase),
    st.lists(st.text(string.ascii_lowercase, min_size=3, max_size=3), min_size=3, max_size=12).map(" ".join),
    st.integers(0, 999),
).filter(lambda password: not password_problems(password))  # "aaa aaa aaa" is too common, as a client would check
schemathesis.openapi.format("password", POLICY_PASSWORDS)
# Findings reported rather than fixed here: (check, operation) -> (status, text of the answer) that identifies it.
# A test fails when one of them is no longer found, so the entry goes with the fix.


@dataclass(frozen=True)
class Finding:
    check: str
    operation: str
    caller: str
    source: str  # coverage, positive, negative or explicit
    status: int
    body: bytes
    answer: str
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


@dataclass(frozen=True)
class Target:
    base_url: str
    cursor: str  # a next_cursor the API returned: what the document says the cursor parameter takes
    link_token: Callable[[str], str]  # operation -> the token of a fresh emailed link for it


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _sent_body(response: schemathesis.Response) -> bytes:
    body = response.request.body
    if body is None:
        return b""
    return body if isinstance(body, bytes) else str(body).encode()


def _exercise(
    run: Run, target: Target, case: schemathesis.Case, caller: str, headers: dict[str, str], source: str
) -> None:
    label = case.operation.label
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive and "cursor" in (case.query or {}):
        case.query["cursor"] = target.cursor  # no schema can generate a cursor only the API hands out
    if positive and label in LINK_PATHS and isinstance(case.body, dict) and "token" in case.body:
        case.body["token"] = target.link_token(label)  # nor a token only an emailed link hands out
    response = case.call(base_url=target.base_url, headers=headers, timeout=10)
    run.cases[label] += 1
    run.statuses[(label, caller, response.status_code)] += 1
    for check in CHECKS:
        try:
            case.validate_response(response, checks=[check], headers=headers)
        except schemathesis.errors.FailureGroup as group:
            sent, answer = _sent_body(response), response.text
            run.findings.append(
                Finding(check.__name__, label, caller, source, response.status_code, sent, answer, str(group))
            )


def _cover(
    run: Run, target: Target, cases: Iterable[schemathesis.Case], caller: str, headers: Callable[[], dict[str, str]]
) -> None:
    """The coverage phase's cases, the same ones for each caller."""
    for case in cases:
        _exercise(run, target, case, caller, headers(), "coverage")


def _fuzz(run: Run, target: Target, operation: Any, caller: str, headers: Callable[[], dict[str, str]]) -> None:
    modes = [GenerationMode.POSITIVE]
    if operation.body or operation.query or operation.path_parameters:
        modes.append(GenerationMode.NEGATIVE)  # with nothing to negate, Hypothesis would find no case at all
    for mode in modes:
        _generate(run, target, operation, mode, caller, headers)


def _generate(
    run: Run, target: Target, operation: Any, mode: GenerationMode, caller: str, headers: Callable[[], dict[str, str]]
) -> None:
    @HYPOTHESIS
    @given(case=operation.as_strategy(generation_mode=mode))
    def generated(case: schemathesis.Case) -> None:
        _exercise(run, target, case, caller, headers(), mode.value)

    generated()


def _explicit_cases(run: Run, target: Target, operation: Any, admin: dict[str, str]) -> None:
    """Bodies no JSON Schema generates: bytes that aren't UTF-8, and a text/plain body."""
    if not operation.body:
        return
    headers = admin if operation.definition.raw.get("security") else {}
    path_parameters = {parameter.name: "A" * 22 for parameter in operation.path_parameters}  # no such user
    for body, media_type in ((b'{"email": "\xff\xfe"}', "application/json"), ("hello", "text/plain")):
        case = operation.Case(body=body, media_type=media_type, path_parameters=path_parameters)
        _exercise(run, target, case, "admin" if headers else "anonymous", headers, "explicit")


def _link_token(client: Client, label: str) -> str:
    """The token of a fresh link for `label`, from the local outbox: a new address registers (which mails it a
    verification link) and, for a reset, asks for a reset link (its first mail in the quota: registration's doesn't
    count)."""
    email = f"schemathesis-link-{time.time_ns()}@example.com"
    client.register(email)
    if LINK_PATHS[label] == RESET_PATH:
        assert client.request("POST", "/auth/password/forgot", body={"email": email}).status == 202
    messages = client.request("GET", OUTBOX_PATH).body["messages"]
    links = [
        urlsplit(link) for mail in messages if mail["to"] == email for link in re.findall(r"https?://\S+", mail["text"])
    ]
    [token] = [parse_qs(link.query)["token"][0] for link in links if link.path == LINK_PATHS[label]]
    return token


@pytest.fixture(scope="module")
def fuzzed(base_url: str) -> Run:
    client = Client(base_url)
    admin = _bearer(client.login(ADMIN_EMAIL, ADMIN_PASSWORD).body["access_token"])

    def registered_and_signed_in(name: str) -> dict[str, str]:
        email = f"schemathesis-{name}-{time.time_ns()}@example.com"
        client.register(email)
        return _bearer(client.login(email).body["access_token"])

    user, password_user = registered_and_signed_in("user"), registered_and_signed_in("password")
    sessions_email = f"schemathesis-sessions-{time.time_ns()}@example.com"
    # Another user for logout and logout-all: logout-all ends every session of its user, `user`'s would go too.
    client.register(sessions_email)

    def fresh_user() -> dict[str, str]:
        return _bearer(client.login(sessions_email, PASSWORD).body["access_token"])

    first_page = client.request("GET", "/admin/users?limit=1", headers=admin).body
    target = Target(base_url, first_page["next_cursor"], lambda label: _link_token(client, label))

    schema = schemathesis.openapi.from_path(DOCUMENT, config=schemathesis.Config())
    # No made-up Authorization header from the security scheme: each caller below sends its own, or none.
    schema.config.generation.update(with_security_parameters=False)
    run = Run()
    started = time.perf_counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        run.operations.append(operation.label)
        # One mode at a time: asked for both at once, schemathesis 4.32 gives positive cases a negative case's value
        # for an optional cookie (refresh_token=0 against its pattern).
        coverage = [
            case
            for mode in GenerationMode
            for case in schema.iter_coverage_cases(
                operation, generation_modes=[mode], generation_config=schema.config.generation
            )
        ]
        callers: list[tuple[str, Callable[[], dict[str, str]]]] = [("anonymous", dict)]
        if operation.label in ENDS_SESSIONS:
            callers.append(("a freshly signed-in user", fresh_user))
        elif operation.label == CHANGES_PASSWORD:
            callers.append(("a user of its own", lambda: password_user))
        elif operation.definition.raw.get("security"):
            callers += [("admin", lambda: admin), ("user", lambda: user)]
        for caller, headers in callers:
            _cover(run, target, coverage, caller, headers)
            _fuzz(run, target, operation, caller, headers)
        _explicit_cases(run, target, operation, admin)
    run.seconds = time.perf_counter() - started
    # The callers' tokens lasted the whole run (or their cases tested only the authorizer's 401).
    for caller in (admin, user, password_user):
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
    assert fuzzed.statuses[("GET /me", "admin", 200)] > 0
    assert fuzzed.statuses[("GET /me", "user", 200)] > 0
    assert fuzzed.statuses[("POST /auth/logout-all", "a freshly signed-in user", 204)] > 0
    assert fuzzed.statuses[("GET /me", "anonymous", 401)] > 0
    # The emailed links' tokens were live, and the password change reached the current password's check.
    assert fuzzed.statuses[("POST /auth/verify-email", "anonymous", 204)] > 0
    assert fuzzed.statuses[("POST /auth/password/reset", "anonymous", 204)] > 0
    assert fuzzed.statuses[("POST /me/password", "a user of its own", 401)] > 0


@pytest.mark.parametrize("check", [check.__name__ for check in CHECKS])
def test_check_holds_for_every_generated_case(fuzzed: Run, check: str) -> None:
    failures = fuzzed.failed(check)
    shown = "\n\n".join(str(finding) for finding in failures[:5])
    where = Counter(finding.operation for finding in failures)
    assert not failures, f"{len(failures)} case(s) failed {check} ({dict(where)}); the first ones:\n\n{shown}"

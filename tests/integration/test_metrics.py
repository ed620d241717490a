"""The metrics the alarms and dashboards read: the authorizer's `AccessDenied` by reason, and `ColdStart` per function.

Powertools writes each metric record as one EMF JSON line on stdout; CloudWatch turns those lines into metrics. The
handlers are called directly with the sample events, as Lambda calls them.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.metrics.provider import cold_start

from functions.authorizer import app as authorizer
from functions.register import app as register
from functions.rotate_key import app as rotate_key
from tests.conftest import TEST_ENV

EVENTS = Path(__file__).resolve().parents[2] / "events"
NAMESPACE = TEST_ENV["POWERTOOLS_METRICS_NAMESPACE"]
SERVICE = TEST_ENV["POWERTOOLS_SERVICE_NAME"]


class Context:
    function_name = "serverless-jwt-auth-dev-Function"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:serverless-jwt-auth-dev-Function"
    aws_request_id = "metrics-test"


def event(name: str, **fields: Any) -> dict[str, Any]:
    return {**json.loads((EVENTS / f"{name}.json").read_text()), **fields}


def metric_records(stdout: str) -> list[dict[str, Any]]:
    """The EMF records among the lines written (log lines are JSON too, but carry no `_aws` metadata)."""
    records = []
    for line in stdout.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "_aws" in record:
            records.append(record)
    return records


def metric(record: dict[str, Any]) -> tuple[str, str, list[str]]:
    """(namespace, metric name, dimension names) of a one-metric record."""
    [directive] = record["_aws"]["CloudWatchMetrics"]
    [definition] = directive["Metrics"]
    [dimensions] = directive["Dimensions"]
    return directive["Namespace"], definition["Name"], sorted(dimensions)


def unsigned_jwt(claims: dict[str, Any]) -> str:
    encode = lambda part: base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{encode({'alg': 'none', 'typ': 'at+jwt'})}.{encode(claims)}."


@pytest.fixture
def warm(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that has already answered once: no cold-start metric in the way."""
    monkeypatch.setattr(cold_start, "is_cold_start", False)


@pytest.mark.usefixtures("aws", "warm")
@pytest.mark.parametrize(
    "authorization",
    [
        "Basic YWRhQGV4YW1wbGUuY29tOnNlY3JldA==",
        "Bearer not-a-token",
        f"Bearer {unsigned_jwt({'sub': 'u1', 'email': 'ada@example.com', 'role': 'admin'})}",
    ],
)
def test_authorizer_when_it_denies_emits_one_access_denied_with_the_reason_only(
    authorization: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a request the authorizer refuses
    # When it answers
    result = authorizer.handler(event("authorizer-token", authorizationToken=authorization), Context())

    # Then one AccessDenied metric carries the contract's code as its reason, and nothing of the request
    [record] = metric_records(capsys.readouterr().out)
    assert result["context"]["error"] == "invalid_token"
    assert metric(record) == (NAMESPACE, "AccessDenied", ["reason", "service"])
    assert (record["AccessDenied"], record["reason"], record["service"]) == ([1.0], "invalid_token", SERVICE)
    assert set(record) == {"_aws", "AccessDenied", "reason", "service"}
    assert "ada@example.com" not in json.dumps(record)


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("handler", "sample"),
    [
        (authorizer.handler, event("authorizer-token", authorizationToken="Bearer not-a-token")),
        (register.handler, event("register", body='{"email": "not an email"}')),
    ],
    ids=["authorizer", "http-entry-point"],
)
def test_cold_start_when_first_invocation_emits_cold_start_once_per_process(
    handler: Any, sample: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a fresh process
    monkeypatch.setattr(cold_start, "is_cold_start", True)

    # When it answers twice
    handler(json.loads(json.dumps(sample)), Context())
    first = [r for r in metric_records(capsys.readouterr().out) if "ColdStart" in r]
    handler(json.loads(json.dumps(sample)), Context())
    second = [r for r in metric_records(capsys.readouterr().out) if "ColdStart" in r]

    # Then the first answer counts one cold start for this function, the second none
    [record] = first
    assert metric(record) == (NAMESPACE, "ColdStart", ["function_name", "service"])
    assert (record["function_name"], record["service"]) == (Context.function_name, SERVICE)
    assert second == []


@pytest.mark.usefixtures("aws")
def test_cold_start_when_rotation_function_starts_emits_cold_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a fresh process (the rotation steps themselves: test_key_rotation.py)
    monkeypatch.setattr(cold_start, "is_cold_start", True)
    step = {
        "SecretId": TEST_ENV["SIGNING_KEY_SECRET_ARN"],
        "ClientRequestToken": str(uuid.uuid4()),
        "Step": "createSecret",
    }

    # When Secrets Manager invokes its first step (Powertools counts a cold start once the invocation succeeds)
    rotate_key.handler(step, Context())

    # Then the start was counted
    assert [metric(r) for r in metric_records(capsys.readouterr().out) if "ColdStart" in r] == [
        (NAMESPACE, "ColdStart", ["function_name", "service"])
    ]

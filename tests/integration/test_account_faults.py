"""SES and DynamoDB failures on the account routes (tests/integration/test_faults.py injects them the same way):
registration never half-writes, and forgot and resend answer 202 whatever failed after the address was read, while
the failure is logged and counted (MailSendFailures)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from auth_core import container
from tests.conftest import PASSWORD, TEST_ENV
from tests.integration.test_account import ADA, last_token, mails_to
from tests.integration.test_faults import LEAKS, Faults

SES_FAULTS = {
    "rejected": lambda op: ClientError(
        {"Error": {"Code": "MessageRejected", "Message": "Email address is not verified"}}, op
    ),
    "throttled": lambda op: ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, op),
    "unreachable": lambda _: EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com/"),
}
ALL_SES_FAULTS = pytest.mark.parametrize("fault", SES_FAULTS.values(), ids=SES_FAULTS.keys())


@pytest.fixture
def faults(aws: dict[str, Any]) -> Iterator[Faults]:
    injected = Faults()
    yield injected
    injected.clear()


def _metric_lines(lines: list[str], name: str) -> list[str]:
    return [line for line in lines if f'"{name}"' in line and "CloudWatchMetrics" in line]


@ALL_SES_FAULTS
def test_register_when_ses_fails_creates_the_account_and_resend_delivers_later(api, aws, faults, logs, fault):
    faults.fail(container.sesv2(), "SendEmail", fault)

    reply = api.call("POST", "/auth/register", body={"email": ADA, "password": PASSWORD})

    assert reply.status == 201
    assert mails_to(ADA) == []
    assert _metric_lines(logs(), "MailSendFailures")
    faults.clear()
    assert api.call("POST", "/auth/verify-email/resend", body={"email": ADA}).status == 202
    assert api.call("POST", "/auth/verify-email", body={"token": last_token(ADA, "/verify-email")}).status == 204


def test_register_when_its_transaction_fails_is_503_and_writes_nothing(api, aws, faults):
    faults.dynamodb(
        "TransactWriteItems",
        lambda op: ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, op),
    )

    reply = api.call("POST", "/auth/register", body={"email": ADA, "password": PASSWORD})

    assert (reply.status, reply.body["error"]) == (503, "service_unavailable")
    assert not any(leak in reply.raw_body for leak in LEAKS)
    for table in (TEST_ENV["USERS_TABLE_NAME"], TEST_ENV["TOKENS_TABLE_NAME"]):
        assert aws["dynamodb"].scan(TableName=table)["Items"] == []
    assert mails_to(ADA) == []


@ALL_SES_FAULTS
@pytest.mark.parametrize("route", ["/auth/password/forgot", "/auth/verify-email/resend"])
def test_forgot_and_resend_when_ses_fails_still_202_and_count_the_failure(api, faults, logs, fault, route):
    assert api.call("POST", "/auth/register", body={"email": ADA, "password": PASSWORD}).status == 201
    faults.fail(container.sesv2(), "SendEmail", fault)
    logs()

    reply = api.call("POST", route, body={"email": ADA})

    assert (reply.status, reply.raw_body) == (202, "")
    lines = logs()
    assert _metric_lines(lines, "MailSendFailures")
    assert any('"mail_sent"' in line and '"failure"' in line for line in lines)


def test_forgot_when_the_link_write_fails_still_202_and_sends_nothing(api, faults, logs):
    assert api.call("POST", "/auth/register", body={"email": ADA, "password": PASSWORD}).status == 201
    faults.dynamodb("PutItem", lambda op: ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, op))

    reply = api.call("POST", "/auth/password/forgot", body={"email": ADA})

    assert reply.status == 202
    assert [mail.subject for mail in mails_to(ADA)] == ["Verify your email address"]
    assert _metric_lines(logs(), "MailSendFailures")


def test_reset_when_its_transaction_fails_is_503_and_the_link_still_works(api, faults):
    assert api.call("POST", "/auth/register", body={"email": ADA, "password": PASSWORD}).status == 201
    api.call("POST", "/auth/password/forgot", body={"email": ADA})
    token = last_token(ADA, "/reset-password")
    faults.dynamodb(
        "TransactWriteItems", lambda op: ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, op)
    )
    body = {"token": token, "password": "a brand new Passphrase 9"}

    assert api.call("POST", "/auth/password/reset", body=body).status == 503
    faults.clear()
    assert api.call("POST", "/auth/password/reset", body=body).status == 204
    assert api.call("POST", "/auth/login", body={"email": ADA, "password": PASSWORD}).status == 401

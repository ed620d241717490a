"""Every forgery of the catalogue (tests/security/forgeries.py) over HTTP against the local API (`python -m infra.local`).

Protected-route cases go to GET /me (and GET /admin/users for the role-tampering ones), refresh cases to
POST /auth/refresh with the token in the body. Each refusal is the contract's: 401 (400 `invalid_request` for a
malformed refresh token in the body), never a 5xx, a JSON error body with the right code, a Bearer challenge on every
401, and the security headers on every response.

The local API runs as a subprocess for this module with its embedded moto backend pinned to a port we choose
(MOTO_PORT), so the test can read the real signing key from the server's own Secrets Manager for the cases that
re-sign tokens with it.
"""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from auth_core.es256 import public_jwk
from tests.contract import SECURITY_HEADERS
from tests.e2e.localapi import PASSWORD, Reply
from tests.local_server import free_port, running_local_api
from tests.security.forgeries import ALLOW, NEVER_FORGED, Case, Genuine, cases_for, claims_of
from tests.signing import kms_signature

CASES = cases_for("http")


def params(cases: list[Case]) -> list[Any]:
    return [
        pytest.param(case, id=case.name, marks=[pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else [])
        for case in cases
    ]


class Server:
    def __init__(self, port: int, moto_url: str) -> None:
        self.port = port
        self.moto_url = moto_url

    def send(
        self,
        method: str,
        path: str,
        *,
        authorization: str | list[str] | None = None,
        body: Any = None,
    ) -> Reply:
        """One request; `authorization` may be several values (several headers), sent as UTF-8 bytes as they are."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)
            connection.putheader("Accept", "application/json")
            values = [authorization] if isinstance(authorization, str) else authorization or []
            for value in values:
                connection.putheader("Authorization", value.encode())
            data = b""
            if body is not None:
                data = json.dumps(body).encode()
                connection.putheader("Content-Type", "application/json")
            if body is not None or method == "POST":
                connection.putheader("Content-Length", str(len(data)))
            connection.endheaders(data or None)
            response = connection.getresponse()
            return Reply(response.status, response.getheaders(), response.read())
        finally:
            connection.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    moto_port = free_port()
    # The embedded backend on a known port, so the tests can read the real signing key from it.
    settings = {"MOTO_PORT": str(moto_port), "AWS_DEFAULT_REGION": "us-east-1"}
    with running_local_api(settings) as url:
        yield Server(int(url.rsplit(":", 1)[1]), f"http://127.0.0.1:{moto_port}")


@pytest.fixture(scope="module")
def genuine(server: Server) -> Genuine:
    def sign_in(email: str) -> tuple[str, dict[str, Any]]:
        registered = server.send("POST", "/auth/register", body={"email": email, "password": PASSWORD})
        assert registered.status == 201, registered.body
        login = server.send("POST", "/auth/login", body={"email": email, "password": PASSWORD})
        assert login.status == 200, login.body
        return registered.body["user"]["id"], login.body

    ada_email, bob_email = (f"{name}-{uuid.uuid4().hex[:8]}@example.com" for name in ("ada", "bob"))
    ada_id, ada = sign_in(ada_email)
    bob_id, bob = sign_in(bob_email)
    second = server.send("POST", "/auth/login", body={"email": ada_email, "password": PASSWORD})
    assert second.status == 200, second.body
    logout = server.send(
        "POST",
        "/auth/logout",
        authorization=f"Bearer {second.body['access_token']}",
        body={"refresh_token": second.body["refresh_token"]},
    )
    assert logout.status == 204, logout.body

    secrets, kms = (
        boto3.client(
            service,
            endpoint_url=server.moto_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # moto checks nothing
        )
        for service in ("secretsmanager", "kms")
    )
    [listed] = secrets.list_secrets()["SecretList"]
    signing = json.loads(secrets.get_secret_value(SecretId=listed["ARN"])["SecretString"])
    [jwk] = json.loads(server.send("GET", "/.well-known/jwks.json").raw)["keys"]
    [key] = [
        key
        for key in kms.list_keys()["Keys"]
        if kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyUsage"] == "SIGN_VERIFY"
        and public_jwk(kms.get_public_key(KeyId=key["KeyId"])["PublicKey"])["kid"] == jwk["kid"]
    ]
    access = ada["access_token"]
    return Genuine(
        access=access,
        refresh=ada["refresh_token"],
        sub=ada_id,
        email=ada_email,
        other_access=bob["access_token"],
        other_sub=bob_id,
        other_email=bob_email,
        revoked_access=second.body["access_token"],
        revoked_refresh=second.body["refresh_token"],
        kid=jwk["kid"],
        key=signing["key"].encode(),
        issuer=claims_of(access)["iss"],
        audience=claims_of(access)["aud"],
        sign=lambda signing_input: kms_signature(kms, key["KeyArn"], signing_input),
        public_jwk=jwk,
    )


def check_headers(reply: Reply, what: str) -> None:
    assert reply.status < 500, f"{what} -> {reply.status} {reply.raw[:300]!r}"
    for name, value in SECURITY_HEADERS.items():
        assert reply.all(name) == [value], f"{what} -> {reply.status}: {name} is {reply.all(name)}"


def check_refusal(reply: Reply, what: str, status: int, code: str, *, remapped: bool = False) -> None:
    """The contract's refusal. `remapped`: the 401 comes from a Lambda, whose WWW-Authenticate API Gateway renames."""
    check_headers(reply, what)
    assert (reply.header("Content-Type") or "").startswith("application/json"), what
    body = reply.body
    assert (reply.status, body.get("error")) == (status, code), f"{what} -> {reply.status} {body}"
    assert isinstance(body.get("message"), str)
    assert body["message"]
    assert b"Traceback" not in reply.raw
    if status == 401:
        challenge = reply.header("WWW-Authenticate")
        if remapped:
            challenge = challenge or reply.header("x-amzn-Remapped-WWW-Authenticate")
        assert challenge, f"{what}: a 401 without a WWW-Authenticate challenge"
        assert challenge.startswith('Bearer realm="serverless-jwt-auth"'), challenge
        if code != "missing_token":
            assert 'error="invalid_token"' in challenge, challenge


def test_genuine_token_gets_in(server: Server, genuine: Genuine) -> None:
    """The control: the same material, unforged, gets in (so every refusal below is the forgery's doing)."""
    me = server.send("GET", "/me", authorization=f"Bearer {genuine.access}")

    check_headers(me, "GET /me")
    assert (me.status, me.body["user"]["id"]) == (200, genuine.sub)


@pytest.mark.parametrize("case", params([case for case in CASES if case.target == "access"]))
def test_protected_routes_refuse_forged_authorization_header(case: Case, server: Server, genuine: Genuine) -> None:
    authorization = case.build(genuine)
    assert authorization is None or isinstance(authorization, str | list)

    me = server.send("GET", "/me", authorization=authorization)
    admin = server.send("GET", "/admin/users", authorization=authorization) if case.admin else None

    if case.expect == ALLOW:  # a spelling RFC 6750 makes valid: the genuine caller, with their current role
        check_headers(me, "GET /me")
        assert (me.status, me.body["user"]["id"]) == (200, genuine.sub), case.note
        if admin is not None:
            check_refusal(admin, "GET /admin/users", 403, "insufficient_role")
    elif case.expect == NEVER_FORGED:  # a forged and a genuine header: the forged identity never wins
        check_headers(me, "GET /me")
        if me.status != 401:
            assert (me.status, me.body["user"]["id"]) == (200, genuine.sub), me.body
        else:
            check_refusal(me, "GET /me", 401, "invalid_token")
        assert admin is not None
        check_headers(admin, "GET /admin/users")
        assert admin.status in (401, 403), admin.body
    else:
        check_refusal(me, "GET /me", case.status, case.expect)
        if admin is not None:
            check_refusal(admin, "GET /admin/users", case.status, case.expect)


@pytest.mark.parametrize("case", params([case for case in CASES if case.target == "refresh"]))
def test_refresh_refuses_forged_refresh_token(case: Case, server: Server, genuine: Genuine) -> None:
    reply = server.send("POST", "/auth/refresh", body={"refresh_token": case.build(genuine)})

    check_refusal(reply, "POST /auth/refresh", case.status, case.expect, remapped=True)
    assert not any(value.startswith("refresh_token=") and "Max-Age=0" not in value for value in reply.all("Set-Cookie"))


def test_a_100kb_authorization_header_is_refused_without_a_5xx(server: Server) -> None:
    """The catalogue's 100 KB token (authorizer layer) doesn't fit in one HTTP header line of the local server."""
    reply = server.send("GET", "/me", authorization="Bearer " + "A" * 100_000 + ".B.C")

    assert 400 <= reply.status < 500, reply.status


def test_a_100kb_authorization_header_refusal_carries_the_security_headers(server: Server) -> None:
    reply = server.send("GET", "/me", authorization="Bearer " + "A" * 100_000 + ".B.C")

    check_headers(reply, "GET /me with a 100 KB Authorization header")
    assert (reply.header("Content-Type") or "").startswith("application/json")

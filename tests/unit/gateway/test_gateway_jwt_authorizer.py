"""The local gateway's native JWT authorizers, over examples/consumer-api and a tiny issuer on a local port: a valid
ES256 token reaches the function with its claims, every forgery or wrong claim is API Gateway's 401, and an unknown
`kid` refetches the key set at most once per interval."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from infra.cfn import load_template
from infra.gateway import LocalGateway, jwt_authorizers
from infra.gateway.jwt_authorizers import REFETCH_INTERVAL_SECONDS, IssuerKeys
from tests.unit.gateway.support import ROOT, call

if TYPE_CHECKING:
    from tests.e2e.localapi import Reply

EXAMPLE = ROOT / "examples" / "consumer-api"
AUDIENCE = "consumer-test"
UNAUTHORIZED = {"message": "Unauthorized"}


class Issuer:
    """An issuer on 127.0.0.1: its discovery document and JWKS, with the keys it signs with."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {"k1": ec.generate_private_key(ec.SECP256R1())}
        self.jwks_hits = 0
        self.discovery_issuer: str | None = None  # None: the real one
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.discovery_issuer or issuer.url, "jwks_uri": f"{issuer.url}/jwks.json"}
                elif self.path == "/jwks.json":
                    issuer.jwks_hits += 1
                    body = {"keys": [issuer.jwk(kid) for kid in issuer.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def jwk(self, kid: str) -> dict[str, Any]:
        key = self.keys[kid]
        algorithm = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
        return {**json.loads(algorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig"}

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": self.url, "aud": AUDIENCE, "sub": "user-1", "email": "ada@example.com", "role": "user"}
        return claims | {"iat": now, "exp": now + 900, "jti": uuid.uuid4().hex} | changes

    def token(self, kid: str = "k1", key: Any = None, algorithm: str = "ES256", **changes: Any) -> str:
        headers = {"kid": kid, "typ": "at+jwt"}
        return jwt.encode(self.claims(**changes), key or self.keys[kid], algorithm=algorithm, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None = None) -> str:
    """A token built by hand: `alg: none` with no signature, or HS256 with `secret` as the HMAC key."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = b"" if secret is None else hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    issuer = Issuer()
    thread = threading.Thread(target=issuer.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield issuer
    issuer.server.shutdown()
    issuer.server.server_close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def consumer(issuer: Issuer, clock: Clock, log: list[str]) -> Callable[[str], LocalGateway]:
    """consumer("RestApi") or consumer("HttpApi"): the example's API trusting `issuer` for AUDIENCE."""
    template = load_template(EXAMPLE / "template.yaml")

    def make(api: str) -> LocalGateway:
        return LocalGateway(
            template,
            EXAMPLE,
            api=api,
            parameters={"IssuerUrl": issuer.url, "Audience": AUDIENCE},
            log=log.append,
            issuer_keys=IssuerKeys(clock=clock, log=log.append),
        )

    return make


@pytest.fixture
def events(consumer: Callable[[str], LocalGateway], monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The events the example's function gets (whichever API invoked it)."""
    module = consumer("RestApi").handler_module("WhoAmIFunction")
    original, seen = module.handler, []

    def handler(event: dict[str, Any], context: Any) -> Any:
        seen.append(copy.deepcopy(event))
        return original(event, context)

    monkeypatch.setattr(module, "handler", handler)
    return seen


def whoami(gateway: LocalGateway, token: str | None) -> Reply:
    return call(gateway, "GET", "/whoami", token=token)


def test_valid_token_reaches_the_function_with_its_claims(
    issuer: Issuer, consumer: Callable[[str], LocalGateway], events: list[dict[str, Any]]
) -> None:
    token = issuer.token()
    reply = whoami(consumer("RestApi"), token)
    assert reply.status == 200, reply.raw
    assert reply.body == {"sub": "user-1", "email": "ada@example.com", "role": "user"}
    [event] = events
    claims = event["requestContext"]["authorizer"]["claims"]  # REST: each claim with its JSON type
    assert claims == jwt.decode(token, options={"verify_signature": False})
    assert isinstance(claims["exp"], int)


def _forgeries(issuer: Issuer) -> dict[str, str | None]:
    claims, header = issuer.claims(), {"alg": "ES256", "typ": "at+jwt", "kid": "k1"}
    public_pem = (
        issuer.keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return {
        "no token": None,
        "not a jwt": "not-a-jwt",
        "another P-256 key, same kid and claims": issuer.token(key=ec.generate_private_key(ec.SECP256R1())),
        "wrong iss": issuer.token(iss="https://evil.example.com"),
        "wrong aud": issuer.token(aud="another-api"),
        "expired": issuer.token(exp=int(time.time()) - 60),
        "not valid yet": issuer.token(nbf=int(time.time()) + 600),
        "no exp": signed(issuer, {name: value for name, value in claims.items() if name != "exp"}),
        "alg none": unsigned(header | {"alg": "none"}, claims),
        "HS256 with the public key as secret": unsigned(header | {"alg": "HS256"}, claims, public_pem),
        "unknown kid": signed(issuer, claims, kid="k9"),
    }


def signed(issuer: Issuer, claims: dict[str, Any], kid: str = "k1") -> str:
    """These exact claims, signed by the issuer's k1 and naming `kid`."""
    return jwt.encode(claims, issuer.keys["k1"], algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"})


@pytest.mark.parametrize(
    "case",
    [
        "no token",
        "not a jwt",
        "another P-256 key, same kid and claims",
        "wrong iss",
        "wrong aud",
        "expired",
        "not valid yet",
        "no exp",
        "alg none",
        "HS256 with the public key as secret",
        "unknown kid",
    ],
)
def test_refused_tokens_get_401_unauthorized_and_never_reach_the_function(
    issuer: Issuer, consumer: Callable[[str], LocalGateway], events: list[dict[str, Any]], case: str
) -> None:
    reply = whoami(consumer("RestApi"), _forgeries(issuer)[case])
    assert reply.status == 401
    assert reply.body == UNAUTHORIZED
    assert reply.header("x-amzn-ErrorType") == "UnauthorizedException"
    assert events == []


def test_http_api_refuses_es256_as_aws_documents_and_says_why(
    issuer: Issuer, consumer: Callable[[str], LocalGateway], events: list[dict[str, Any]]
) -> None:
    reply = whoami(consumer("HttpApi"), issuer.token())
    assert reply.status == 401
    assert reply.body == UNAUTHORIZED
    assert reply.header("www-authenticate") == (
        'Bearer scope="" error="invalid_token" error_description="the token\'s algorithm is not allowed"'
    )
    assert events == []


def test_http_api_accepts_rs256_and_passes_claims_as_payload_2_0(
    issuer: Issuer, consumer: Callable[[str], LocalGateway], events: list[dict[str, Any]]
) -> None:
    issuer.keys["r1"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    reply = whoami(consumer("HttpApi"), issuer.token(kid="r1", algorithm="RS256", scope="orders:read"))
    assert reply.status == 200, reply.raw
    [event] = events
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /whoami"
    jwt_context = event["requestContext"]["authorizer"]["jwt"]
    assert jwt_context["claims"]["sub"] == "user-1"
    assert isinstance(jwt_context["claims"]["exp"], str)
    assert jwt_context["scopes"] == ["orders:read"]


def test_http_api_missing_token_is_a_bare_bearer_challenge(consumer: Callable[[str], LocalGateway]) -> None:
    reply = whoami(consumer("HttpApi"), None)
    assert (reply.status, reply.body, reply.header("www-authenticate")) == (401, UNAUTHORIZED, "Bearer")


def test_unknown_kid_refetches_the_key_set_at_most_once_per_interval(
    issuer: Issuer, consumer: Callable[[str], LocalGateway], clock: Clock
) -> None:
    gateway = consumer("RestApi")
    assert whoami(gateway, issuer.token()).status == 200
    assert issuer.jwks_hits == 1
    for _ in range(20):  # a flood of made-up kids
        assert whoami(gateway, signed(issuer, issuer.claims(), kid=uuid.uuid4().hex)).status == 401
    assert issuer.jwks_hits == 1

    # A rotation: the issuer publishes k2 and signs with it. Within the interval it is not looked up yet...
    issuer.keys["k2"] = ec.generate_private_key(ec.SECP256R1())
    clock.now += REFETCH_INTERVAL_SECONDS - 1
    assert whoami(gateway, issuer.token(kid="k2")).status == 401
    # ...after it, one refetch finds it, and the old key still verifies.
    clock.now += 1
    assert whoami(gateway, issuer.token(kid="k2")).status == 200
    assert whoami(gateway, issuer.token(kid="k1")).status == 200
    assert issuer.jwks_hits == 2


def test_keys_older_than_their_max_age_are_refetched_and_a_dropped_key_stops_verifying(
    issuer: Issuer, consumer: Callable[[str], LocalGateway], clock: Clock
) -> None:
    gateway = consumer("RestApi")
    token = issuer.token()
    assert whoami(gateway, token).status == 200
    issuer.keys = {"k2": ec.generate_private_key(ec.SECP256R1())}  # an emergency rotation: k1 is gone
    clock.now += jwt_authorizers.KEYS_MAX_AGE_SECONDS + 1
    assert whoami(gateway, token).status == 401
    assert issuer.jwks_hits == 2


def test_discovery_naming_another_issuer_is_refused(
    issuer: Issuer, consumer: Callable[[str], LocalGateway], log: list[str]
) -> None:
    issuer.discovery_issuer = "https://evil.example.com"
    assert whoami(consumer("RestApi"), issuer.token()).status == 401
    assert issuer.jwks_hits == 0
    assert any("names another issuer" in line for line in log)


def test_an_issuer_that_never_answers_costs_one_timeout_then_401(
    issuer: Issuer, consumer: Callable[[str], LocalGateway], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jwt_authorizers, "FETCH_TIMEOUT_SECONDS", 0.3)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        issuer.url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        gateway = consumer("RestApi")
        started = time.monotonic()
        assert whoami(gateway, issuer.token()).status == 401
        assert whoami(gateway, issuer.token()).status == 401  # no second wait within the refetch interval
        assert time.monotonic() - started < 1.5

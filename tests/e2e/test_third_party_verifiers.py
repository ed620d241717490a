"""Our access tokens verified by clients we did not write, over the local API: PyJWT's PyJWKClient and joserfc, both
fed only the published JWKS, and the consumer example behind its native JWT authorizer (`make run`'s second API).
A token forged with another P-256 key, the same `kid` and the same claims, is refused by all three."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tests.e2e.localapi import Client


@pytest.fixture
def access_token(client: Client, email: str) -> str:
    client.register(email)
    token: str = client.login(email).body["access_token"]
    return token


@pytest.fixture
def discovery(client: Client) -> dict[str, Any]:
    reply = client.request("GET", "/.well-known/openid-configuration")
    assert reply.status == 200
    document: dict[str, Any] = reply.body
    return document


def forged(token: str) -> str:
    """The same header (alg, kid, typ) and claims, signed by a P-256 key the issuer never published."""
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers=header)


def pyjwt_verify(token: str, discovery: dict[str, Any]) -> dict[str, Any]:
    key = jwt.PyJWKClient(discovery["jwks_uri"], cache_keys=False).get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=["ES256"],
        audience=jwt.decode(token, options={"verify_signature": False})["aud"],
        issuer=discovery["issuer"],
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )
    return claims


def joserfc_verify(token: str, client: Client, discovery: dict[str, Any]) -> dict[str, Any]:
    keys = KeySet.import_key_set(client.request("GET", "/.well-known/jwks.json").body)
    decoded = jose_jwt.decode(token, keys, algorithms=["ES256"])
    jose_jwt.JWTClaimsRegistry(iss={"essential": True, "value": discovery["issuer"]}, exp={"essential": True}).validate(
        decoded.claims
    )
    claims: dict[str, Any] = decoded.claims
    return claims


def test_discovery_points_at_the_jwks_of_this_issuer(base_url: str, discovery: dict[str, Any]) -> None:
    assert discovery["issuer"] == base_url
    assert discovery["jwks_uri"] == f"{base_url}/.well-known/jwks.json"


def test_pyjwk_client_verifies_our_token_and_refuses_a_forged_one(access_token: str, discovery: dict[str, Any]) -> None:
    claims = pyjwt_verify(access_token, discovery)
    assert claims["iss"] == discovery["issuer"]
    assert jwt.get_unverified_header(access_token)["alg"] == "ES256"
    with pytest.raises(jwt.InvalidSignatureError):
        pyjwt_verify(forged(access_token), discovery)


def test_joserfc_verifies_our_token_and_refuses_a_forged_one(
    access_token: str, client: Client, discovery: dict[str, Any]
) -> None:
    claims = joserfc_verify(access_token, client, discovery)
    assert claims == jwt.decode(access_token, options={"verify_signature": False})
    with pytest.raises(JoseError):
        joserfc_verify(forged(access_token), client, discovery)


def test_consumer_example_accepts_our_token_and_refuses_a_forged_one(
    access_token: str, consumer_port: int, email: str
) -> None:
    consumer = Client(f"http://127.0.0.1:{consumer_port}")
    reply = consumer.request("GET", "/whoami", token=access_token)
    assert reply.status == 200, reply.raw
    assert reply.body["email"] == email
    assert reply.body["sub"] == jwt.decode(access_token, options={"verify_signature": False})["sub"]
    refused = consumer.request("GET", "/whoami", token=forged(access_token))
    assert (refused.status, json.loads(refused.raw)) == (401, {"message": "Unauthorized"})

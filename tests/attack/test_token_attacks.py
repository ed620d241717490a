"""Attacks on the verifiable access tokens (issue 11: ES256 in KMS, the JWKS, rotation) with the project's own handlers
on moto, as an outside attacker would make them. `test_held_*`: the code holds (kept as regressions). Any other test
is a finding, fixed in the same commit or kept as xfail(strict=True) with the fix it needs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from auth_core import container
from tests.conftest import PASSWORD, ROLE_ARN
from tests.signing import b64, es256_token, kms_signature, segment_json

ADA = "ada@example.com"
INVALID = (401, "invalid_token")


def me(api: Any, token: str) -> tuple[int, str | None]:
    reply = api.call("GET", "/me", token=token)
    return reply.status, (reply.body or {}).get("error")


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, claims, _ = token.split(".")
    return segment_json(header), segment_json(claims)


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes, digest: Any = hashlib.sha256) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), digest).digest())}"


def current_key(aws: dict[str, Any]) -> Any:
    key = container.key_registry().read().current
    assert key is not None
    return key


@pytest.fixture
def rotation(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The rotation's settings as template.yaml gives them."""
    monkeypatch.setenv("ISSUER_ROLE_ARNS", f"{ROLE_ARN}/login,{ROLE_ARN}/refresh")
    monkeypatch.setenv("ROTATOR_ROLE_ARN", f"{ROLE_ARN}/rotate-signing-key")
    container.reset()
    return container.signing_key_rotator


# --- algorithm confusion: our PUBLIC key as an HMAC secret, in the forms the catalogue doesn't try -------------


def public_key_spellings(jwk: dict[str, str]) -> dict[str, bytes]:
    x, y = (base64.urlsafe_b64decode(jwk[name] + "=") for name in ("x", "y"))
    key = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()).public_key()
    return {
        "compressed-point": key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint),
        "raw-x-y": x + y,
        "openssh": key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
        "pem-no-newline": key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).rstrip(b"\n"),
        "b64url-x": jwk["x"].encode(),
        "b64url-x-y": (jwk["x"] + jwk["y"]).encode(),
        "published-jwk-sorted": json.dumps(jwk, sort_keys=True).encode(),
        "thumbprint-kid": jwk["kid"].encode(),
    }


def test_held_hs256_hs384_hs512_keyed_with_every_spelling_of_our_public_key_refused(api, signed_in):
    session = signed_in()
    jwk = api.call("GET", "/.well-known/jwks.json").body["keys"][0]
    header, claims = parts(session["access_token"])
    claims["role"] = "admin"
    for name, secret in public_key_spellings(jwk).items():
        for alg, digest in (("HS256", hashlib.sha256), ("HS384", hashlib.sha384), ("HS512", hashlib.sha512)):
            for typ in ("at+jwt", "JWT"):
                forged = hs256({**header, "alg": alg, "typ": typ}, claims, secret, digest)
                assert me(api, forged) == INVALID, (name, alg, typ)


@pytest.mark.parametrize(
    "alg", ["None", "nOnE", "NONE", "none ", "ES256 ", " ES256", "ES384", "ES512", "PS256", "EdDSA"]
)
def test_held_alg_variants_with_the_real_signature_or_none_refused(api, aws, signed_in, alg):
    session = signed_in()
    header, claims = parts(session["access_token"])
    key = current_key(aws)
    really_signed = es256_token(aws["kms"], key.key_id, {**header, "alg": alg}, claims)
    unsigned = really_signed.rpartition(".")[0] + "."
    assert me(api, really_signed) == INVALID
    assert me(api, unsigned) == INVALID


# --- kid injection ------------------------------------------------------------------------------------------------


def test_held_duplicate_kid_header_member_refused_whichever_one_a_parser_keeps(api, aws, signed_in):
    session = signed_in()
    header_segment, claims_segment, _ = session["access_token"].split(".")
    kid, key = segment_json(header_segment)["kid"], current_key(aws)
    for first, second in ((kid, "unknown"), ("unknown", kid), (kid, kid)):
        text = f'{{"alg":"ES256","typ":"at+jwt","kid":"{first}","kid":"{second}"}}'
        signing_input = f"{b64(text.encode())}.{claims_segment}"
        forged = f"{signing_input}.{b64(kms_signature(aws['kms'], key.key_id, signing_input.encode()))}"
        assert me(api, forged) == INVALID, text


def test_held_kid_of_an_emergency_removed_key_refused_even_with_its_real_signature(api, aws, stack, signed_in):
    from infra import emergency_key

    session = signed_in()
    old = current_key(aws)
    header, claims = parts(session["access_token"])
    # what whoever stole the key minted before the operator noticed: an admin token living a year
    minted = es256_token(
        aws["kms"], old.key_id, header, {**claims, "role": "admin", "exp": int(time.time()) + 365 * 86_400}
    )
    assert emergency_key.main(["--stack", stack, "--key", "signing-key", "--yes"]) == 0

    assert me(api, minted) == INVALID
    assert me(api, session["access_token"]) == INVALID
    assert aws["kms"].describe_key(KeyId=old.key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"


def throttled_once(client: Any, operation: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`client.<operation>` fails once as KMS does when throttled, then works again."""
    from botocore.exceptions import ClientError

    real, failed = getattr(client, operation), []

    def flaky(**kwargs: Any) -> Any:
        if not failed:
            failed.append(kwargs)
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, operation)
        return real(**kwargs)

    monkeypatch.setattr(client, operation, flaky)


def test_emergency_rotation_interrupted_then_run_again_leaves_the_leaked_key_unable_to_sign(
    api, aws, signed_in, rotation, monkeypatch
):
    from auth_core.errors import DependencyError

    signed_in()
    leaked = current_key(aws)
    rotator = rotation()
    throttled_once(container.kms(), "schedule_key_deletion", monkeypatch)
    # The operator's first run fails half-way (KMS throttled); they run it again, as the error tells them to
    with pytest.raises(DependencyError):
        rotator.emergency()
    rotator.emergency()

    # The leaked key must not be able to sign any more, whatever the first run did
    assert aws["kms"].describe_key(KeyId=leaked.key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    [replacement] = container.key_registry().read().keys
    assert replacement.kid != leaked.kid
    assert api.call("POST", "/auth/login", body={"email": ADA, "password": PASSWORD}).status == 200


def test_logout_with_a_token_of_an_emergency_removed_key_ends_no_session(api, aws, signed_in, rotation):
    rotator = rotation()
    victim, attacker = signed_in(), signed_in("mallory@example.com")
    # A warm logout function holds the public keys (it verified a bearer token a moment ago)
    warm = api.call("POST", "/auth/login", body={"email": "mallory@example.com", "password": PASSWORD}).body
    assert api.call("POST", "/auth/logout", token=warm["access_token"]).status == 204
    # Whoever stole the signing key minted a token naming the victim's session (its sid is in any of their tokens)
    old = current_key(aws)
    header, claims = parts(attacker["access_token"])
    victim_claims = parts(victim["access_token"])[1]
    minted = es256_token(
        aws["kms"], old.key_id, header, {**claims, **{k: victim_claims[k] for k in ("sub", "email", "sid")}}
    )
    rotator.emergency()  # what `make rotate-key-emergency` does; the Lambdas stay warm

    # After the emergency rotation, that key is trusted nowhere: the victim's session lives on
    assert api.call("POST", "/auth/logout", token=minted).status == 204
    refreshed = api.call("POST", "/auth/refresh", body={"refresh_token": victim["refresh_token"]})
    assert refreshed.status == 200, refreshed.body


# --- IAM: who decides which public keys every verifier trusts ---------------------------------------------------

REGISTRY_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
# The issuers (they sign anyway, and record the first key) and the rotation: nobody else may write SIGNING_KEYS.
REGISTRY_WRITERS = {"LoginFunction", "RefreshFunction", "RotateSigningKeyFunction"}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def names_tokens_table(resource: Any) -> bool:
    return any(item == {"Fn::GetAtt": ["TokensTable", "Arn"]} for item in as_list(resource))


def denied_registry_writes(template: dict[str, Any]) -> set[str]:
    """The roles an IAM policy of the template denies every write of the registry item (the Deny wins over any Allow)."""
    denied: set[str] = set()
    for resource in template["Resources"].values():
        if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            condition = {"ForAnyValue:StringEquals": {"dynamodb:LeadingKeys": ["SIGNING_KEYS"]}}
            if (
                statement["Effect"] == "Deny"
                and set(as_list(statement["Action"])) >= REGISTRY_WRITES
                and names_tokens_table(statement["Resource"])
                and statement.get("Condition") == condition
            ):
                denied |= {role["Ref"] for role in resource["Properties"]["Roles"]}
    return denied


def plant_attacker_key(aws: dict[str, Any]) -> ec.EllipticCurvePrivateKey:
    """What a role that may write the tokens table can do: make its own P-256 key the current signing key."""
    from dataclasses import replace

    from auth_core.es256 import public_jwk

    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    jwk, registry = public_jwk(der), container.key_registry()
    read = registry.read()
    planted = replace(current_key(aws), kid=jwk["kid"], key_id="arn:aws:kms:attacker", jwk=jwk)
    registry.replace(read, [planted])
    return private


def test_only_the_issuers_and_the_rotation_may_write_the_signing_key_registry(api, aws, signed_in):
    from cryptography.hazmat.primitives import hashes

    from auth_core.es256 import raw_signature

    # Why it matters: whoever writes SIGNING_KEYS mints tokens every verifier accepts (moto enforces no IAM); our
    # authorizer still wants a live session and takes the role from the table, but a consumer API's JWT authorizer
    # believes every claim, "role": "admin" included
    session = signed_in()
    private = plant_attacker_key(aws)
    header, claims = parts(session["access_token"])
    header["kid"] = container.key_registry().read().keys[0].kid
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps({**claims, 'role': 'admin'}).encode())}"
    signature = raw_signature(private.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    assert me(api, f"{signing_input}.{b64(signature)}") == (200, None)

    # So IAM must keep every other function, whatever else it writes in the tokens table, off that item
    writers = set()
    for logical_id, function in aws["template"]["Resources"].items():
        if function["Type"] != "AWS::Serverless::Function":
            continue
        for policy in function["Properties"].get("Policies", []):
            for statement in policy["Statement"]:
                if (
                    statement["Effect"] == "Allow"
                    and REGISTRY_WRITES & set(as_list(statement["Action"]))
                    and names_tokens_table(statement["Resource"])
                ):
                    writers.add(logical_id)
    writers -= {role.removesuffix("Role") for role in denied_registry_writes(aws["template"])}
    assert writers == REGISTRY_WRITERS


# --- JWKS cache poisoning and re-read storms --------------------------------------------------------------------


def test_held_invented_kids_and_header_keys_never_change_the_keys_and_reread_at_most_every_5_seconds(
    api, aws, signed_in, monkeypatch
):
    session = signed_in()
    jwks = api.call("GET", "/.well-known/jwks.json").body
    public_keys, client, key = container.public_keys(), container.dynamodb(), current_key(aws)
    monotonic, reads, get_item = [time.monotonic()], [], client.get_item
    monkeypatch.setattr(public_keys, "_monotonic", lambda: monotonic[0])
    public_keys.key_set()  # warm, as of `monotonic`
    monkeypatch.setattr(client, "get_item", lambda **kw: reads.append(kw["Key"]) or get_item(**kw))
    header, claims = parts(session["access_token"])
    attacker_jwk = {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}

    def storm() -> None:
        for n in range(20):
            extra = {"jku": "https://attacker.example/jwks.json", "jwk": attacker_jwk} if n % 2 else {}
            forged = es256_token(aws["kms"], key.key_id, {**header, "kid": f"invented-{n}", **extra}, claims)
            assert me(api, forged) == INVALID

    monotonic[0] += 6
    storm()  # one burst of invented kids: one re-read of the registry, whatever the burst's size
    assert len(reads) == 1
    monotonic[0] += 4
    storm()
    assert len(reads) == 1
    monotonic[0] += 2
    storm()
    assert len(reads) == 2
    assert api.call("GET", "/.well-known/jwks.json").body == jwks
    assert me(api, session["access_token"]) == (200, None)


# --- the issuer and the public documents -------------------------------------------------------------------------


def test_held_issuer_when_derived_from_the_stage_ignores_host_and_forwarded_headers(api, aws, monkeypatch):
    monkeypatch.setenv("TOKEN_ISSUER", "")
    container.reset()
    spoofed = {
        "Host": "attacker.example",
        "X-Forwarded-Host": "attacker.example",
        "X-Forwarded-Proto": "http",
        "Forwarded": "host=attacker.example;proto=http",
        "X-Original-URL": "https://attacker.example/",
    }
    # The first request a cold function sees names the issuer: make it the attacker's
    document = api.call("GET", "/.well-known/openid-configuration", headers=spoofed).body
    assert "attacker" not in json.dumps(document)
    assert document["issuer"].startswith("https://") and ".execute-api.us-east-1.amazonaws.com/" in document["issuer"]
    registered = api.call("POST", "/auth/register", body={"email": ADA, "password": PASSWORD}, headers=spoofed)
    login = api.call("POST", "/auth/login", body={"email": ADA, "password": PASSWORD}, headers=spoofed)
    assert registered.status == 201 and login.status == 200
    assert parts(login.body["access_token"])[1]["iss"] == document["issuer"]


def test_held_jwks_publishes_public_members_only_with_an_independently_computed_thumbprint(api, signed_in):
    signed_in()
    reply = api.call("GET", "/.well-known/jwks.json")
    [key] = reply.body["keys"]
    assert set(reply.body) == {"keys"}
    assert not {"d", "p", "q", "dp", "dq", "qi", "k", "oth"} & set(key)
    # RFC 7638 s3.2 by hand: the required members in lexicographic order, no whitespace
    canonical = f'{{"crv":"P-256","kty":"EC","x":"{key["x"]}","y":"{key["y"]}"}}'
    assert key["kid"] == b64(hashlib.sha256(canonical.encode()).digest())
    # A point on the curve (cryptography refuses any other)
    ec.EllipticCurvePublicNumbers(
        *(int.from_bytes(base64.urlsafe_b64decode(key[n] + "="), "big") for n in ("x", "y")), ec.SECP256R1()
    ).public_key()
    assert reply.header("Cache-Control") == "public, max-age=300"
    assert reply.header("Content-Type").startswith("application/json")


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/.well-known/jwks.json", "/.well-known/openid-configuration"])
def test_held_public_documents_answer_no_other_method_and_never_a_key(api, signed_in, method, path):
    signed_in()
    origin = {"Origin": "https://attacker.example", "Access-Control-Request-Method": "GET"}
    reply = api.call(method, path, body={"keys": [{"kty": "EC"}]}, headers=origin)
    assert reply.status in (403, 404, 405)
    assert reply.header("Access-Control-Allow-Origin") is None
    assert "keys" not in (reply.body or {})
    assert reply.header("Cache-Control") == "no-store"


def test_held_first_login_when_kms_get_public_key_fails_is_503_with_no_session_and_no_registry(api, aws, monkeypatch):
    from botocore.exceptions import ClientError

    assert api.call("POST", "/auth/register", body={"email": ADA, "password": PASSWORD}).status == 201

    def fail(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "DisabledException", "Message": "disabled"}}, "GetPublicKey")

    monkeypatch.setattr(container.kms(), "get_public_key", fail)
    reply = api.call("POST", "/auth/login", body={"email": ADA, "password": PASSWORD})

    assert (reply.status, reply.body["error"]) == (503, "service_unavailable")
    items = [item["pk"]["S"] for item in aws["dynamodb"].scan(TableName="test-tokens")["Items"]]
    assert not [pk for pk in items if pk.startswith("SES#") or pk == "SIGNING_KEYS"]


# --- claims, with a genuine signature (what a stolen kms:Sign could make) ---------------------------------------


def test_held_mixed_identities_in_one_signed_token_are_refused(api, aws, signed_in):
    ada, bob = signed_in(), signed_in("bob@example.com")
    header, claims = parts(ada["access_token"])
    bob_claims, key = parts(bob["access_token"])[1], current_key(aws)
    for mixed in (
        {"sid": bob_claims["sid"]},  # ada, in bob's live session
        {"sub": bob_claims["sub"]},  # bob's id, ada's email and session
        {"email": bob_claims["email"]},  # bob's account, read by email, with ada's id
        {"sub": bob_claims["sub"], "email": bob_claims["email"]},  # bob, but in ada's session
    ):
        forged = es256_token(aws["kms"], key.key_id, header, {**claims, **mixed})
        assert me(api, forged) == (401, "token_revoked"), mixed
    assert me(api, ada["access_token"]) == (200, None)

"""Our hand-written ES256 verifier against PyJWT (strict options, algorithms=["ES256"]) on every forged access token of
the catalogue (tests/security/forgeries.py) and on thousands of generated mutations of genuine tokens.

The issue's condition for keeping a hand-written verifier: it never accepts what PyJWT refuses, and where the two
disagree it is because ours is stricter on purpose, for a reason named in STRICTER (one spelling per token, RFC 7515
s2; ECDSA malleability; JSON that Python reads but RFC 8259 does not allow). Both see the same keys (our JWKS) and
the same claim policy (required claims, exact iss/aud, types, roles), so a disagreement can only come from parsing,
the header, or the signature.
"""

from __future__ import annotations

import base64
import json
import math
import random
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from auth_core.access import bearer_token
from auth_core.errors import InvalidTokenError, ServiceError, TokenExpiredError
from auth_core.es256 import CURVE_ORDER, public_jwk, raw_signature
from auth_core.public_keys import PublicKeys
from auth_core.signing_keys import CURRENT, KeyEntry, KeySet
from auth_core.tokens import ROLES, TokenService
from tests.security.forgeries import CASES, Genuine, b64, segments, unb64

# The genuine tokens are issued when this module is imported (collection) and judged by PyJWT against the wall clock
# when the test runs, which in a full suite on a busy machine can be more than 15 minutes later: a day's lifetime
# keeps "expired" from masking the verdict under test. Expiry itself is covered by the catalogue's own cases.
ISSUER, AUDIENCE, LEEWAY, TTL = "https://auth.example.com", "serverless-jwt-auth-api", 5, 86_400
ACCEPT, INVALID, EXPIRED = "accept", "invalid_token", "token_expired"
REQUIRED = ["iss", "aud", "sub", "email", "role", "sid", "iat", "exp", "jti"]

# Where ours refuses what PyJWT accepts, and why. Every entry must be exercised (test at the bottom).
STRICTER = {
    "high-s": "a malleated twin (r, n - s) of a genuine signature: one spelling per token, we issue low s only",
    "non-canonical-base64": "padding, '+' or '/', or non-zero unused bits: RFC 7515 s2 base64url without padding",
    "duplicate-member": "a JSON member given twice (RFC 7515 s5.2 / RFC 7519 s4: no ambiguous claims)",
    "non-json-number": "NaN, Infinity, or a number too large for a date: not JSON (RFC 8259 s6), no NumericDate",
    "boolean-time": "true/false as iat/exp/nbf: Python's bool is an int, but no NumericDate (RFC 7519 s2)",
    "too-long": "over MAX_TOKEN_LENGTH (4 KiB)",
}


class MemoryKey:
    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.jwk = public_jwk(der)

    def sign(self, signing_input: bytes) -> bytes:
        return raw_signature(self.private.sign(signing_input, ec.ECDSA(hashes.SHA256())))


KEY = MemoryKey()
KEY_SET = KeySet(keys=(KeyEntry(KEY.jwk["kid"], "arn:kms:memory", KEY.jwk, CURRENT, 0.0),), version=1)


class Registry:
    def read(self) -> KeySet:
        return KEY_SET


class Signer:
    def current(self, key_set: KeySet) -> KeyEntry:
        assert key_set.current is not None
        return key_set.current

    def sign(self, key: KeyEntry, signing_input: bytes) -> bytes:
        return KEY.sign(signing_input)


def ours() -> TokenService:
    return TokenService(
        PublicKeys(Registry(), max_age=300),  # type: ignore[arg-type]
        signer=lambda: Signer(),  # type: ignore[arg-type,return-value]
        issuer=lambda: ISSUER,
        audience=AUDIENCE,
        access_ttl=TTL,
        leeway=LEEWAY,
    )


SERVICE = ours()


def issue(email: str, role: str = "user") -> str:
    return SERVICE.issue_access(key_set=KEY_SET, user_id=f"id-{email}", email=email, role=role, session_id="sid")[0]


GENUINE = Genuine(
    access=issue("ada@example.com"),
    refresh="rt1.unused",
    sub="id-ada@example.com",
    email="ada@example.com",
    other_access=issue("bob@example.com"),
    other_sub="id-bob@example.com",
    other_email="bob@example.com",
    revoked_access=issue("ada@example.com"),
    revoked_refresh="rt1.unused",
    kid=KEY.jwk["kid"],
    key=b"the service's hmac secret, not a jwt key",
    issuer=ISSUER,
    audience=AUDIENCE,
    sign=KEY.sign,
    public_jwk=KEY.jwk,
)


def our_verdict(token: str) -> str:
    try:
        SERVICE.verify_access(token)
    except TokenExpiredError:
        return EXPIRED
    except InvalidTokenError:
        return INVALID
    return ACCEPT


def pyjwt_verdict(token: str) -> str:
    """PyJWT with strict options and our claim policy: the reference."""
    try:
        header = jwt.get_unverified_header(token)
        if set(header) - {"alg", "typ", "kid"} or header.get("typ") != "at+jwt":
            return INVALID
        jwks = {key["kid"]: key for key in [KEY.jwk]}
        if not isinstance(header.get("kid"), str) or header["kid"] not in jwks:
            return INVALID
        key = jwt.PyJWK(jwks[header["kid"]]).key
        payload = jwt.decode(
            token,
            key,
            algorithms=["ES256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY,
            options={"require": REQUIRED, "strict_aud": True, "verify_signature": True},
        )
    except jwt.ExpiredSignatureError:
        return EXPIRED
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError, OverflowError):
        return INVALID
    strings = ["iss", "sub", "email", "role", "sid", "jti"]
    if any(not isinstance(payload[name], str) or not payload[name] for name in strings) or payload["role"] not in ROLES:
        return INVALID
    times = [payload["iat"], payload["exp"], payload.get("nbf", 0)]
    if not all(isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)) for value in times):
        return INVALID
    return ACCEPT


def stricter_reason(token: str) -> str | None:
    """Which deliberate strictness of ours explains a refusal PyJWT doesn't make (None: no excuse)."""
    if len(token) > 4096:
        return "too-long"
    parts = token.split(".")
    if any(b64(unb64(part)) != part for part in parts if part):
        return "non-canonical-base64"
    raw = unb64(parts[2])
    if len(raw) == 64 and int.from_bytes(raw[32:], "big") > CURVE_ORDER // 2:
        return "high-s"
    for part in parts[:2]:
        text = unb64(part).decode("utf-8", "replace")
        try:
            json.loads(text, object_pairs_hook=_refuse_duplicates)
        except _DuplicateError:
            return "duplicate-member"
        except ValueError:
            pass
        try:
            json.loads(text, parse_constant=_refuse_constant)
        except _ConstantError:
            return "non-json-number"
        except ValueError:
            pass
    payload = json.loads(unb64(parts[1]))
    times = [payload.get(name) for name in ("iat", "exp", "nbf")]
    if any(isinstance(value, bool) for value in times):
        return "boolean-time"
    if any(isinstance(value, int | float) and abs(value) >= 10**11 for value in times):
        return "non-json-number"
    return None


class _DuplicateError(ValueError):
    pass


class _ConstantError(ValueError):
    pass


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(dict(pairs)) != len(pairs):
        raise _DuplicateError
    return dict(pairs)


def _refuse_constant(name: str) -> Any:
    raise _ConstantError


SEEN_REASONS: set[str] = set()


def compare(token: str) -> None:
    mine, reference = our_verdict(token), pyjwt_verdict(token)
    if mine == reference:
        return
    assert mine != ACCEPT, f"ours accepts what PyJWT refuses ({reference}): {token[:200]}"
    if reference == ACCEPT or {mine, reference} == {INVALID, EXPIRED}:
        reason = stricter_reason(token)
        assert reason is not None, f"ours says {mine}, PyJWT {reference}, and no declared reason: {token[:200]}"
        SEEN_REASONS.add(reason)


def access_token_of(case: Any) -> str | None:
    """The token a catalogue case puts in its bearer header, or None when the header is no bearer token at all (the
    header parser's business, not the verifier's)."""
    header = case.build(GENUINE)
    if not isinstance(header, str):
        return None
    try:
        return bearer_token(header)
    except ServiceError:
        return None


# Built again when each test runs, not only at collection: a case's times are relative to now, and a full suite can
# take longer than the 15 minutes they leave.
ACCESS_CASES = [
    pytest.param(case, id=case.name) for case in CASES if case.target == "access" and access_token_of(case) is not None
]


@pytest.mark.parametrize("case", ACCESS_CASES)
def test_verdict_for_each_forged_token_matches_pyjwt_or_is_stricter_for_a_named_reason(case: Any) -> None:
    token = access_token_of(case)
    assert token is not None
    compare(token)


def mutations(seed: int, count: int) -> list[str]:
    """Random damage to genuine tokens: characters replaced, inserted, removed; segments swapped, re-encoded,
    re-signed by the real key after a change, or a signature's s flipped to n - s."""
    rng = random.Random(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. "
    genuine = [GENUINE.access, GENUINE.other_access]
    edits: list[Callable[[str], str]] = [
        lambda t: _at(t, rng.randrange(len(t)), rng.choice(alphabet), 1),
        lambda t: _at(t, rng.randrange(len(t)), rng.choice(alphabet), 0),
        lambda t: _at(t, rng.randrange(len(t)), "", 1),
        lambda t: ".".join(rng.sample(t.split("."), 3)),
        lambda t: _resigned_header(t, rng),
        lambda t: _resigned_claims(t, rng),
        lambda t: _flip_s(t),
        lambda t: _with_signature_bytes(t, rng),
        lambda t: _duplicated_member(t, rng),
    ]
    return [rng.choice(edits)(rng.choice(genuine)) for _ in range(count)]


def _at(token: str, index: int, text: str, drop: int) -> str:
    return token[:index] + text + token[index + drop :]


def _sign(header: Any, payload: Any) -> str:
    signing_input = f"{b64(json.dumps(header))}.{b64(json.dumps(payload))}"
    return f"{signing_input}.{b64(KEY.sign(signing_input.encode()))}"


def _resigned_header(token: str, rng: random.Random) -> str:
    header = json.loads(unb64(segments(token)[0]))
    name = rng.choice(["alg", "typ", "kid", "jku", "jwk", "crit", "x5u", "b64"])
    header[name] = rng.choice(["ES256", "HS256", "none", "ES384", "at+jwt", "JWT", "", None, 1, [], KEY.jwk["kid"]])
    return _sign(header, json.loads(unb64(segments(token)[1])))


def _resigned_claims(token: str, rng: random.Random) -> str:
    payload = json.loads(unb64(segments(token)[1]))
    name = rng.choice([*REQUIRED, "nbf"])
    payload[name] = rng.choice(
        [None, "", 0, -1, True, 1.5, 10**12, float("nan"), [], {}, "admin", "root", ISSUER, AUDIENCE, [AUDIENCE]]
    )
    if rng.random() < 0.3:
        payload.pop(name, None)
    return _sign(json.loads(unb64(segments(token)[0])), payload)


def _duplicated_member(token: str, rng: random.Random) -> str:
    """A claim given a second time, after the first, and the whole re-signed by the real key."""
    header, payload = segments(token)[0], json.loads(unb64(segments(token)[1]))
    name = rng.choice(["role", "sub", "exp", "aud"])
    text = json.dumps(payload)[:-1] + f', "{name}": ' + json.dumps(rng.choice(["admin", "someone", 10**10, "x"])) + "}"
    signing_input = f"{header}.{b64(text)}"
    return f"{signing_input}.{b64(KEY.sign(signing_input.encode()))}"


def _flip_s(token: str) -> str:
    raw = unb64(segments(token)[2])
    s = int.from_bytes(raw[32:], "big")
    return token.rpartition(".")[0] + "." + b64(raw[:32] + (CURVE_ORDER - s).to_bytes(32, "big"))


def _with_signature_bytes(token: str, rng: random.Random) -> str:
    raw = bytearray(unb64(segments(token)[2]))
    raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
    return token.rpartition(".")[0] + "." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize("seed", range(4))
def test_verdict_for_generated_mutations_matches_pyjwt_or_is_stricter_for_a_named_reason(seed: int) -> None:
    for token in mutations(seed, 500):
        compare(token)


def test_genuine_tokens_both_accept() -> None:
    assert (our_verdict(GENUINE.access), pyjwt_verdict(GENUINE.access)) == (ACCEPT, ACCEPT)


def test_every_declared_strictness_is_exercised() -> None:
    """Runs last in this module: each reason in STRICTER was needed by at least one token above (none is stale)."""
    assert set(STRICTER) == SEEN_REASONS, f"never needed: {set(STRICTER) - SEEN_REASONS}"

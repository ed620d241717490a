"""auth_core.tokens: issuing and verifying ES256 access tokens, and refusing every forgery (RFC 8725).

No AWS and no wall clock: the "KMS key" is a P-256 key in memory behind the signer's interface, the registry a fixed
key set, and the clock is set by hand. Forged tokens are built with pyjwt where it can sign them, and by hand where it
refuses to (alg none, HMAC with a public key, tampered parts, malleated signatures).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import sys
import threading
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from auth_core.errors import DependencyError, InvalidTokenError, TokenExpiredError
from auth_core.es256 import CURVE_ORDER, public_jwk, raw_signature, thumbprint
from auth_core.public_keys import PublicKeys
from auth_core.signing_keys import CURRENT, PREVIOUS, KeyEntry, KeySet
from auth_core.tokens import TokenService

ISSUER = "https://auth.example.com"
AUDIENCE = "serverless-jwt-auth-api"
NOW = 1_750_000_000.0
LEEWAY = 5
ACCESS_TTL = 900
ACCESS_CLAIMS = ("iss", "aud", "sub", "email", "role", "sid", "iat", "exp", "jti")


class Key:
    """A P-256 key pair standing in for a KMS key: the tests may sign with it, the service only through the signer."""

    def __init__(self, status: str, verify_until: float | None = None) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.jwk = public_jwk(der)
        self.kid = self.jwk["kid"]
        self.entry = KeyEntry(self.kid, f"arn:kms:{self.kid}", self.jwk, status, NOW - 60, verify_until)

    def sign(self, signing_input: bytes) -> bytes:
        return raw_signature(self.private.sign(signing_input, ec.ECDSA(hashes.SHA256())))


CURRENT_KEY = Key(CURRENT)
PREVIOUS_KEY = Key(PREVIOUS, verify_until=NOW + ACCESS_TTL)
RETIRED_KEY = Key(PREVIOUS, verify_until=NOW - 1)  # its tokens have all expired: no longer published
KEY_SET = KeySet(keys=(CURRENT_KEY.entry, PREVIOUS_KEY.entry, RETIRED_KEY.entry), version=3)
ATTACKER_KEY = Key(CURRENT)  # a P-256 key that is not ours


class FakeSigner:
    """KmsSigner's interface over the in-memory keys; counts its calls as kms:Sign calls."""

    def __init__(self) -> None:
        self.calls = 0

    def current(self, key_set: KeySet) -> KeyEntry:
        assert key_set.current is not None
        return key_set.current

    def sign(self, key: KeyEntry, signing_input: bytes) -> bytes:
        self.calls += 1
        return next(k for k in (CURRENT_KEY, PREVIOUS_KEY, RETIRED_KEY) if k.kid == key.kid).sign(signing_input)


class FakeRegistry:
    def __init__(self, key_set: KeySet = KEY_SET) -> None:
        self.key_set = key_set
        self.reads = 0

    def read(self) -> KeySet:
        self.reads += 1
        return self.key_set


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def signer() -> FakeSigner:
    return FakeSigner()


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def tokens(clock: Clock, signer: FakeSigner, registry: FakeRegistry) -> TokenService:
    public_keys = PublicKeys(registry, max_age=300, clock=clock)  # type: ignore[arg-type]
    return TokenService(
        public_keys,
        signer=lambda: signer,  # type: ignore[arg-type,return-value]
        issuer=lambda: ISSUER,
        audience=AUDIENCE,
        access_ttl=ACCESS_TTL,
        leeway=LEEWAY,
        clock=clock,
    )


def issue(tokens: TokenService, role: str = "user") -> tuple[str, Any]:
    return tokens.issue_access(key_set=KEY_SET, user_id="u", email="e@example.com", role=role, session_id="session-1")


# ---------------------------------------------------------------------------------------------------------------
# Helpers to take tokens apart and forge new ones


def b64(data: bytes | str | dict[str, Any]) -> str:
    if isinstance(data, dict):
        data = json.dumps(data, separators=(",", ":"))
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    header, payload, signature = token.split(".")
    return json.loads(unb64(header)), json.loads(unb64(payload)), unb64(signature)


def by_hand(header: dict[str, Any], payload: Any, *, key: bytes | None = None, digest: Any = None) -> str:
    """A JWT built without pyjwt: HMAC over the signing input with `key` (any key, even empty), or no signature."""
    signing_input = f"{b64(header)}.{b64(payload)}"
    signature = b"" if key is None else hmac.new(key, signing_input.encode(), digest or hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def access_payload(**changes: Any) -> dict[str, Any]:
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "email": "ada@example.com",
        "role": "user",
        "sid": "session-1",
        "iat": NOW,
        "exp": int(NOW) + ACCESS_TTL,
        "jti": "jti-1",
    }
    payload.update(changes)
    return payload


def refresh_payload(**changes: Any) -> dict[str, Any]:
    # What a refresh JWT of an earlier version carried: no role, no session id, a family instead.
    payload = {k: v for k, v in access_payload().items() if k not in ("role", "sid")} | {"fam": "family-1"}
    payload.update(changes)
    return payload


def our_header(key: Key = CURRENT_KEY, **changes: Any) -> dict[str, Any]:
    return {"alg": "ES256", "typ": "at+jwt", "kid": key.kid} | changes


def signed(payload: Any, *, key: Key = CURRENT_KEY, header: dict[str, Any] | None = None, **extra: Any) -> str:
    """A token signed with one of our keys (so only the part under test can make it fail)."""
    signing_input = f"{b64(header or our_header(key, **extra))}.{b64(payload)}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


def public_key_forms(key: Key) -> dict[str, bytes]:
    """Every form of our PUBLIC key an attacker could use as an HMAC secret (algorithm confusion, RFC 8725 s2.1)."""
    public = key.private.public_key()
    return {
        "pem": public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "der": public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "point": public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint),
        "jwk-json": json.dumps(key.jwk).encode(),
        "x": unb64(key.jwk["x"]),
    }


def without(payload: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != name}


# ---------------------------------------------------------------------------------------------------------------
# Round trips


def test_issue_access_then_verify_returns_same_claims(tokens: TokenService) -> None:
    token, issued = tokens.issue_access(
        key_set=KEY_SET, user_id="user-1", email="ada@example.com", role="admin", session_id="session-1"
    )

    verified = tokens.verify_access(token)

    assert verified == issued
    assert (verified.sub, verified.email, verified.role) == ("user-1", "ada@example.com", "admin")
    assert (verified.iat, verified.exp, verified.kid) == (NOW, int(NOW) + ACCESS_TTL, CURRENT_KEY.kid)


def test_issue_access_signs_once_with_low_s_raw_signature_that_pyjwt_verifies(
    tokens: TokenService, signer: FakeSigner
) -> None:
    token, _ = issue(tokens)

    _, _, signature = parts(token)
    assert signer.calls == 1
    assert len(signature) == 64
    assert int.from_bytes(signature[32:], "big") <= CURVE_ORDER // 2
    public = CURRENT_KEY.private.public_key()
    claims = jwt.decode(token, public, algorithms=["ES256"], audience=AUDIENCE, issuer=ISSUER, leeway=10**10)
    assert claims["sub"] == "u"


def test_kid_when_computed_is_the_rfc_7638_thumbprint() -> None:
    # RFC 7638 s3.1's own example is an RSA key; the same rule (required members, sorted, no whitespace) for EC:
    jwk = {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "BBBB"}
    expected = b64(hashlib.sha256(b'{"crv":"P-256","kty":"EC","x":"AAAA","y":"BBBB"}').digest())

    assert thumbprint(jwk | {"kid": "ignored", "use": "sig"}) == expected
    assert CURRENT_KEY.kid == thumbprint(CURRENT_KEY.jwk)
    assert set(CURRENT_KEY.jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}  # no private member "d"


def test_raw_signature_when_kms_gives_high_s_becomes_low_s_that_still_verifies() -> None:
    der = CURRENT_KEY.private.sign(b"input", ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    high = encode_dss_signature(r, max(s, CURVE_ORDER - s))

    raw = raw_signature(high)

    assert int.from_bytes(raw[32:], "big") == min(s, CURVE_ORDER - s)
    low = encode_dss_signature(r, int.from_bytes(raw[32:], "big"))
    CURRENT_KEY.private.public_key().verify(low, b"input", ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize(
    ("issue", "typ"),
    [
        (
            lambda t: issue(t)[0],
            "at+jwt",
        ),
    ],
    ids=["access"],
)
def test_issue_any_token_has_pinned_header_and_current_kid(tokens: TokenService, issue: Any, typ: str) -> None:
    header, payload, _ = parts(issue(tokens))

    assert header == {"alg": "ES256", "typ": typ, "kid": CURRENT_KEY.kid}
    assert (payload["iss"], payload["aud"]) == (ISSUER, AUDIENCE)


def test_issue_access_twice_gets_distinct_jti(tokens: TokenService) -> None:
    first, second = issue(tokens)[1], issue(tokens)[1]

    assert first.jti != second.jti


def test_verify_access_signed_with_previous_key_accepted(tokens: TokenService) -> None:
    # Given a token signed before the last rotation, by the key the registry keeps as previous
    token = signed(access_payload(), key=PREVIOUS_KEY)

    assert tokens.verify_access(token).kid == PREVIOUS_KEY.kid


def test_find_while_another_thread_learns_the_registry_never_fails(clock: Clock) -> None:
    """Two invocations sharing one cold PublicKeys (threads in one process): one builds a key while the other
    learns the registry. Forced to interleave (a Barrier, and threads switching every microsecond), 3,000 times:
    every lookup returns its key. (Storing into the dict in place failed about one round in a hundred.)"""
    failures: list[str] = []
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(3000):
            public_keys = PublicKeys(FakeRegistry(), max_age=300, clock=clock)  # type: ignore[arg-type]
            public_keys.key_set()
            start = threading.Barrier(2)

            def build(public_keys: PublicKeys = public_keys, start: threading.Barrier = start) -> None:
                start.wait()
                try:
                    assert public_keys.find(CURRENT_KEY.kid) is not None
                except Exception as exc:
                    failures.append(repr(exc))

            def build_and_learn(public_keys: PublicKeys = public_keys, start: threading.Barrier = start) -> None:
                start.wait()
                try:
                    public_keys.find(PREVIOUS_KEY.kid)
                    public_keys.learn(KEY_SET)  # what AccessVerifier.verify does after its revocation read
                except Exception as exc:
                    failures.append(repr(exc))

            threads = [threading.Thread(target=build), threading.Thread(target=build_and_learn)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert failures == []


@pytest.mark.parametrize(
    "jwk",
    [
        {"x": "AAAA", "y": "AAAA"},  # not a point on the curve
        {"x": CURRENT_KEY.jwk["x"]},  # no y
        {"x": 1, "y": 2},  # not strings
    ],
    ids=["off the curve", "no y", "numbers"],
)
def test_verify_access_naming_an_unreadable_registry_key_is_a_dependency_error(
    clock: Clock, jwk: dict[str, Any]
) -> None:
    """A corrupt registry entry (only the issuers can write it) is a 503 for its kid, never an untyped exception,
    and the other keys still verify."""
    broken = KeyEntry(
        "broken-kid", "arn:kms:broken", {"kty": "EC", "crv": "P-256", **jwk}, PREVIOUS, NOW - 60, NOW + 60
    )
    public_keys = PublicKeys(
        FakeRegistry(KeySet(keys=(CURRENT_KEY.entry, broken), version=4)), max_age=300, clock=clock
    )  # type: ignore[arg-type]

    with pytest.raises(DependencyError):
        public_keys.find("broken-kid")
    assert public_keys.find(CURRENT_KEY.kid) is not None


def test_verify_access_signed_with_retired_key_refused(tokens: TokenService) -> None:
    with pytest.raises(InvalidTokenError):
        tokens.verify_access(signed(access_payload(), key=RETIRED_KEY))


def test_verify_access_signed_by_another_p256_key_refused(tokens: TokenService) -> None:
    # The attacker's own key under our kid: only the signature can fail it.
    token = signed(access_payload(role="admin"), key=ATTACKER_KEY, header=our_header(CURRENT_KEY))

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(token)


@pytest.mark.parametrize("form", ["pem", "der", "point", "jwk-json", "x"])
@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_verify_access_hmac_with_our_public_key_as_secret_refused(tokens: TokenService, form: str, alg: str) -> None:
    # Algorithm confusion (RFC 8725 s2.1, s3.1): the verifier's public key used as an HMAC secret.
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    token = by_hand(
        our_header(alg=alg), access_payload(role="admin"), key=public_key_forms(CURRENT_KEY)[form], digest=digest
    )

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(token)


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_verify_access_alg_none_with_empty_signature_refused(tokens: TokenService, alg: str) -> None:
    token = by_hand(our_header(alg=alg), access_payload())

    assert token.endswith(".")
    with pytest.raises(InvalidTokenError):
        tokens.verify_access(token)


@pytest.mark.parametrize("alg", ["ES384", "ES512", "es256", "ES256K", "RS256", "PS256", "EdDSA"])
def test_verify_access_other_alg_over_a_valid_es256_signature_refused(tokens: TokenService, alg: str) -> None:
    # The signature is genuine for this header: only the algorithm is wrong (pinned, RFC 8725 s3.1).
    with pytest.raises(InvalidTokenError):
        tokens.verify_access(signed(access_payload(), header=our_header(alg=alg)))


def signature_variants() -> dict[str, Any]:
    """Ways to present a genuine signature's (r, s) that must not verify: one spelling per token."""

    def raw(r: int, s: int, size: int = 32) -> bytes:
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    return {
        "all-zero (CVE-2022-21449)": lambda r, s: bytes(64),
        "r-zero": lambda r, s: raw(0, s),
        "s-zero": lambda r, s: raw(r, 0),
        "high-s (malleated twin)": lambda r, s: raw(r, CURVE_ORDER - s),
        "r-plus-n": lambda r, s: (r + CURVE_ORDER).to_bytes(33, "big") + s.to_bytes(32, "big"),
        "der-instead-of-raw": lambda r, s: encode_dss_signature(r, s),
        "63-bytes": lambda r, s: raw(r, s)[:63],
        "65-bytes": lambda r, s: raw(r, s) + b"\x00",
        "coordinates-of-48-bytes": lambda r, s: raw(r, s, 48),
        "s-and-r-swapped": lambda r, s: raw(s, r),
    }


@pytest.mark.parametrize("variant", sorted(signature_variants()))
def test_verify_access_non_canonical_or_malformed_signature_refused(tokens: TokenService, variant: str) -> None:
    token = signed(access_payload())
    head, _, signature = token.rpartition(".")
    raw = unb64(signature)
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(f"{head}.{b64(signature_variants()[variant](r, s))}")
    assert tokens.verify_access(token).sub == "user-1"  # the control: the genuine spelling verifies


@pytest.mark.parametrize("key", [b"", b"secret"], ids=["empty-key", "weak-key"])
def test_verify_access_hs256_signed_with_guessable_key_refused(tokens: TokenService, key: bytes) -> None:
    token = by_hand(our_header(alg="HS256"), access_payload(), key=key)

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(token)


# ---------------------------------------------------------------------------------------------------------------
# Header: kid and parameters


@pytest.mark.parametrize(
    "kid",
    [
        "k9",
        "",
        CURRENT_KEY.kid.upper(),
        CURRENT_KEY.kid + "\x00",
        "../../dev/null",
        "' OR 1=1 --",
        "SIGNING_KEYS",
        "https://attacker.example/jwks.json#k1",
        "k" * 3000,
    ],
    ids=lambda k: repr(k)[:20],
)
def test_verify_access_unknown_or_injected_kid_refused(tokens: TokenService, kid: str) -> None:
    # Signed with the real key: only the kid is wrong.
    with pytest.raises(InvalidTokenError):
        tokens.verify_access(signed(access_payload(), header=our_header(kid=kid)))


def test_verify_access_kid_missing_refused(tokens: TokenService) -> None:
    with pytest.raises(InvalidTokenError):
        tokens.verify_access(signed(access_payload(), header={"alg": "ES256", "typ": "at+jwt"}))


def test_verify_access_unknown_kids_read_the_registry_at_most_once_per_interval(
    tokens: TokenService, registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stream of invented kids must not become a stream of DynamoDB reads (bounded refetch).
    tokens.verify_access(signed(access_payload()))
    reads = registry.reads

    for attempt in range(50):
        with pytest.raises(InvalidTokenError):
            tokens.verify_access(signed(access_payload(), header=our_header(kid=f"invented-{attempt}")))

    assert registry.reads == reads  # within UNKNOWN_KID_REFETCH_SECONDS of the last read: none at all


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("jwk", ATTACKER_KEY.jwk),
        ("jku", "https://evil.example/jwks.json"),
        ("x5u", "https://evil.example/cert.pem"),
        ("x5c", ["MIIBszCCAVmgAwIBAgIUQ"]),
        ("crit", ["exp"]),
        ("cty", "JWT"),
    ],
)
def test_verify_access_extra_header_parameter_refused(tokens: TokenService, name: str, value: Any) -> None:
    token = signed(access_payload(), header=our_header(**{name: value}))

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(token)


@pytest.mark.parametrize("typ", ["JWT", "jwt", "AT+JWT", "application/at+jwt", None])
def test_verify_access_other_typ_refused(tokens: TokenService, typ: str | None) -> None:
    header = {"alg": "ES256", "kid": CURRENT_KEY.kid} | ({"typ": typ} if typ else {})
    token = signed(access_payload(), header=header)

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(token)


# ---------------------------------------------------------------------------------------------------------------
# Signature and tampering


def test_verify_access_stripped_signature_refused(tokens: TokenService) -> None:
    token, _ = issue(tokens)
    stripped = token.rsplit(".", 1)[0] + "."

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(stripped)


@pytest.mark.parametrize("index", [0, 15, 31])
def test_verify_access_flipped_signature_byte_refused(tokens: TokenService, index: int) -> None:
    token, _ = issue(tokens)
    head, body, signature = token.split(".")
    flipped = bytearray(unb64(signature))
    flipped[index] ^= 0x01

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(f"{head}.{body}.{b64(bytes(flipped))}")


@pytest.mark.parametrize(
    "changes", [{"role": "admin"}, {"sub": "someone-else"}, {"exp": int(NOW) + 10 * ACCESS_TTL}], ids=str
)
def test_verify_access_tampered_claims_with_original_signature_refused(
    tokens: TokenService, changes: dict[str, Any]
) -> None:
    token, _ = issue(tokens)
    head, body, signature = token.split(".")
    tampered = json.loads(unb64(body)) | changes

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(f"{head}.{b64(tampered)}.{signature}")


# ---------------------------------------------------------------------------------------------------------------
# Claims


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://evil.example"},
        {"iss": ISSUER.upper()},
        {"aud": "another-api"},
        {"aud": [f"{AUDIENCE}-x"]},
        {"role": "root"},
        {"sub": ""},
        {"email": 42},
        {"jti": None},
    ],
    ids=str,
)
def test_verify_access_wrong_claim_value_refused(tokens: TokenService, changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidTokenError):
        tokens.verify_access(signed(access_payload(**changes)))


@pytest.mark.parametrize("claim", ACCESS_CLAIMS)
def test_verify_access_missing_claim_refused(tokens: TokenService, claim: str) -> None:
    with pytest.raises(InvalidTokenError):
        tokens.verify_access(signed(without(access_payload(), claim)))


# ---------------------------------------------------------------------------------------------------------------
# Time


def test_verify_access_exp_past_beyond_leeway_expired(tokens: TokenService, clock: Clock) -> None:
    token, claims = issue(tokens)
    clock.now = claims.exp + LEEWAY + 1

    with pytest.raises(TokenExpiredError, match="expired"):
        tokens.verify_access(token)


@pytest.mark.parametrize("past_exp", [0, 1, LEEWAY - 1])
def test_verify_access_exp_past_within_leeway_accepted(tokens: TokenService, clock: Clock, past_exp: int) -> None:
    token, claims = issue(tokens)
    clock.now = claims.exp + past_exp

    assert tokens.verify_access(token) == claims


def test_verify_access_exp_long_past_expired_not_invalid(tokens: TokenService) -> None:
    token = signed(access_payload(iat=NOW - 10_000, exp=int(NOW) - 9_000))

    with pytest.raises(TokenExpiredError):
        tokens.verify_access(token)


@pytest.mark.parametrize(
    ("changes", "accepted"),
    [
        ({"iat": NOW + LEEWAY - 1}, True),
        ({"iat": NOW + LEEWAY + 1}, False),
        ({"iat": NOW + 86_400}, False),
        ({"nbf": NOW - 60}, True),
        ({"nbf": NOW + LEEWAY + 1}, False),
        ({"nbf": NOW + 3_600}, False),
        ({"nbf": "yesterday"}, False),
    ],
    ids=str,
)
def test_verify_access_future_iat_or_nbf_refused_beyond_leeway(
    tokens: TokenService, changes: dict[str, Any], accepted: bool
) -> None:
    token = signed(access_payload(**changes))

    if accepted:
        assert tokens.verify_access(token).sub == "user-1"
    else:
        with pytest.raises(InvalidTokenError):
            tokens.verify_access(token)


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": "9999999999"},
        {"exp": None},
        {"exp": [int(NOW) + 60]},
        {"exp": True},
        {"iat": True},
        {"iat": False},
        {"iat": str(NOW)},
        {"iat": {"value": NOW}},
    ],
    ids=str,
)
def test_verify_access_non_numeric_time_claim_refused(tokens: TokenService, changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidTokenError):
        tokens.verify_access(signed(access_payload(**changes)))


@pytest.mark.parametrize(
    "changes",
    [{"exp": math.nan}, {"exp": math.inf}, {"iat": math.nan}, {"iat": -math.inf}, {"nbf": math.nan}, {"nbf": True}],
    ids=["exp-nan", "exp-inf", "iat-nan", "iat-minus-inf", "nbf-nan", "nbf-bool"],
)
def test_verify_access_non_finite_time_claim_refused(tokens: TokenService, changes: dict[str, Any]) -> None:
    # Python's json writes and reads NaN/Infinity, which are not JSON numbers (RFC 8259 s6) nor NumericDates.
    with pytest.raises(InvalidTokenError):
        tokens.verify_access(signed(access_payload(**changes)))


# ---------------------------------------------------------------------------------------------------------------
# Structure


GARBAGE_NOT_JWT_SHAPED = ["", ".", "a.b", "a.b.c.d", "é.é.é", "eyJ.eyJ.sig\u200b", "a" * 10_240, "a.b." + "c" * 5000]
GARBAGE_JWT_SHAPED = ["a.b.c", f"{b64('not json')}.{b64('not json')}.{b64('sig')}", f"{b64('[]')}.e30.e30"]


@pytest.mark.parametrize("token", GARBAGE_NOT_JWT_SHAPED + GARBAGE_JWT_SHAPED, ids=lambda t: repr(t)[:20])
def test_verify_access_structural_garbage_refused(tokens: TokenService, token: str) -> None:
    with pytest.raises(InvalidTokenError):
        tokens.verify_access(token)


# ---------------------------------------------------------------------------------------------------------------
# Token types never stand in for each other


def test_verify_access_given_refresh_token_refused(tokens: TokenService) -> None:
    refresh = "rt1." + "A" * 22 + "." + b64("e@example.com") + "." + "B" * 43 + "." + "C" * 22

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(refresh)


def test_verify_access_refresh_claims_under_access_typ_refused(tokens: TokenService) -> None:
    # A refresh payload (no role) relabelled at+jwt and signed with our key still lacks the access claims.
    with pytest.raises(InvalidTokenError):
        tokens.verify_access(signed(refresh_payload()))


@pytest.mark.parametrize("aud", [[AUDIENCE], [AUDIENCE, "another-api"]])
def test_verify_access_audience_list_refused(tokens: TokenService, aud: list[str]) -> None:
    with pytest.raises(InvalidTokenError):
        tokens.verify_access(signed(access_payload(aud=aud)))


def test_verify_access_claim_given_twice_refused(tokens: TokenService) -> None:
    # Same signature, but the payload names `role` twice: the last one would win in a lenient parser.
    body = json.dumps(access_payload(), separators=(",", ":"))[:-1] + ',"role":"admin"}'

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(signed(body))


def test_verify_access_signature_in_non_canonical_spelling_refused(tokens: TokenService) -> None:
    token = signed(access_payload())
    head, _, signature = token.rpartition(".")
    # 64 bytes are 86 characters; the last one carries 4 unused bits: flip one and the bytes stay the same.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = signature[:-1] + alphabet[alphabet.index(signature[-1]) ^ 1]
    assert unb64(twin) == unb64(signature)

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(f"{head}.{twin}")
    assert tokens.verify_access(token).sub == "user-1"

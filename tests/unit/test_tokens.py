"""auth_core.tokens: issuing and verifying access and refresh tokens, and refusing every forgery (RFC 8725).

A fake key store and a hand-set clock: no AWS, no wall clock. Forged tokens are built with pyjwt where it can sign
them, and by hand (base64url + HMAC) where pyjwt refuses to (alg none, empty or weak keys, tampered parts).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from typing import Any

import jwt
import pytest

from auth_core.errors import InvalidTokenError, TokenExpiredError
from auth_core.keys import KeyRing, SigningKey
from auth_core.tokens import TokenService

ISSUER = "serverless-jwt-auth"
AUDIENCE = "serverless-jwt-auth-api"
NOW = 1_750_000_000.0
LEEWAY = 5
ACCESS_TTL = 900
REFRESH_TTL = 604_800
CURRENT = SigningKey(kid="k2", secret=b"Kq4ZbN7vXw2Lr9Tg8Hs3Yd6Fj1Mc5Pa0Qe7Uh2Wn4Rb9Vz6Ly3Xk8Gt1Sd5Jm0Co")
PREVIOUS = SigningKey(kid="k1", secret=b"Pf3Hd8Zs1Wk6Nq2Lb7Xr4Tv9Jg0Mc5Ya8Ue3Ri6Ko1Bn7Vt2Sy4Ql9Gx0Hw5Dz3")
ACCESS_CLAIMS = ("iss", "aud", "sub", "email", "role", "sid", "iat", "exp", "jti")


class FakeKeys:
    """The KeyStore interface over a fixed ring."""

    def __init__(self, current: SigningKey = CURRENT, previous: SigningKey | None = PREVIOUS) -> None:
        self._ring = KeyRing(current=current, previous=previous)

    def ring(self) -> KeyRing:
        return self._ring

    def find(self, kid: str) -> SigningKey | None:
        return self._ring.find(kid)


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tokens(clock: Clock) -> TokenService:
    return TokenService(
        FakeKeys(),  # type: ignore[arg-type]
        issuer=ISSUER,
        audience=AUDIENCE,
        access_ttl=ACCESS_TTL,
        leeway=LEEWAY,
        clock=clock,
    )


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


def by_hand(header: dict[str, Any], payload: dict[str, Any], *, key: bytes | None = None, digest: Any = None) -> str:
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


def signed(payload: dict[str, Any], *, typ: str = "at+jwt", key: SigningKey = CURRENT, **header: Any) -> str:
    """A token signed with one of our keys (so only the part under test can make it fail)."""
    return jwt.encode(payload, key.secret, algorithm="HS256", headers={"typ": typ, "kid": key.kid, **header})


def without(payload: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != name}


# ---------------------------------------------------------------------------------------------------------------
# Round trips


def test_issue_access_then_verify_returns_same_claims(tokens: TokenService) -> None:
    token, issued = tokens.issue_access(user_id="user-1", email="ada@example.com", role="admin", session_id="session-1")

    verified = tokens.verify_access(token)

    assert verified == issued
    assert (verified.sub, verified.email, verified.role) == ("user-1", "ada@example.com", "admin")
    assert (verified.iat, verified.exp) == (NOW, int(NOW) + ACCESS_TTL)


@pytest.mark.parametrize(
    ("issue", "typ"),
    [
        (
            lambda t: t.issue_access(user_id="u", email="e@example.com", role="user", session_id="session-1")[0],
            "at+jwt",
        ),
    ],
    ids=["access"],
)
def test_issue_any_token_has_pinned_header_and_current_kid(tokens: TokenService, issue: Any, typ: str) -> None:
    header, payload, _ = parts(issue(tokens))

    assert header == {"alg": "HS256", "typ": typ, "kid": CURRENT.kid}
    assert (payload["iss"], payload["aud"]) == (ISSUER, AUDIENCE)


def test_issue_access_twice_gets_distinct_jti(tokens: TokenService) -> None:
    first = tokens.issue_access(user_id="u", email="e@example.com", role="user", session_id="session-1")[1]
    second = tokens.issue_access(user_id="u", email="e@example.com", role="user", session_id="session-1")[1]

    assert first.jti != second.jti


def test_verify_access_signed_with_previous_key_accepted(tokens: TokenService) -> None:
    # Given a token signed before the last rotation (AWSPREVIOUS)
    token = signed(access_payload(), key=PREVIOUS)

    assert tokens.verify_access(token).sub == "user-1"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_verify_access_alg_none_with_empty_signature_refused(tokens: TokenService, alg: str) -> None:
    token = by_hand({"alg": alg, "typ": "at+jwt", "kid": CURRENT.kid}, access_payload())

    assert token.endswith(".")
    with pytest.raises(InvalidTokenError):
        tokens.verify_access(token)


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_verify_access_other_hmac_alg_with_same_key_refused(tokens: TokenService, alg: str) -> None:
    token = jwt.encode(access_payload(), CURRENT.secret, algorithm=alg, headers={"typ": "at+jwt", "kid": CURRENT.kid})

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(token)


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256", "EdDSA"])
def test_verify_access_asymmetric_alg_hmac_signed_with_our_key_refused(tokens: TokenService, alg: str) -> None:
    # Algorithm confusion: an asymmetric alg in the header, the bytes an HMAC with our (shared) key.
    token = by_hand({"alg": alg, "typ": "at+jwt", "kid": CURRENT.kid}, access_payload(), key=CURRENT.secret)

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(token)


def test_verify_access_es256_all_zero_signature_refused(tokens: TokenService) -> None:
    # CVE-2022-21449 ("psychic signatures"): r = s = 0.
    signing_input = f"{b64({'alg': 'ES256', 'typ': 'at+jwt', 'kid': CURRENT.kid})}.{b64(access_payload())}"

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(f"{signing_input}.{b64(bytes(64))}")


@pytest.mark.parametrize("key", [b"", b"secret"], ids=["empty-key", "weak-key"])
def test_verify_access_hs256_signed_with_guessable_key_refused(tokens: TokenService, key: bytes) -> None:
    token = by_hand({"alg": "HS256", "typ": "at+jwt", "kid": CURRENT.kid}, access_payload(), key=key)

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(token)


# ---------------------------------------------------------------------------------------------------------------
# Header: kid and parameters


@pytest.mark.parametrize(
    "kid", ["k9", "", "K2", "../../dev/null", "' OR 1=1 --", "k2\x00", "k" * 5000], ids=lambda k: repr(k)[:20]
)
def test_verify_access_unknown_or_injected_kid_refused(tokens: TokenService, kid: str) -> None:
    # Signed with the real key: only the kid is wrong.
    token = jwt.encode(access_payload(), CURRENT.secret, algorithm="HS256", headers={"typ": "at+jwt", "kid": kid})

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(token)


def test_verify_access_kid_missing_refused(tokens: TokenService) -> None:
    token = by_hand({"alg": "HS256", "typ": "at+jwt"}, access_payload(), key=CURRENT.secret)

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(token)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("jwk", {"kty": "oct", "k": b64(b"attacker-chosen-key-of-32-bytes!")}),
        ("jku", "https://evil.example/jwks.json"),
        ("x5u", "https://evil.example/cert.pem"),
        ("x5c", ["MIIBszCCAVmgAwIBAgIUQ"]),
        ("crit", ["exp"]),
        ("cty", "JWT"),
    ],
)
def test_verify_access_extra_header_parameter_refused(tokens: TokenService, name: str, value: Any) -> None:
    token = signed(access_payload(), **{name: value})

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(token)


@pytest.mark.parametrize("typ", ["JWT", "jwt", "AT+JWT", "application/at+jwt", None])
def test_verify_access_other_typ_refused(tokens: TokenService, typ: str | None) -> None:
    header = {"alg": "HS256", "kid": CURRENT.kid} | ({"typ": typ} if typ else {})
    token = by_hand(header, access_payload(), key=CURRENT.secret)

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(token)


# ---------------------------------------------------------------------------------------------------------------
# Signature and tampering


def test_verify_access_stripped_signature_refused(tokens: TokenService) -> None:
    token, _ = tokens.issue_access(user_id="u", email="e@example.com", role="user", session_id="session-1")
    stripped = token.rsplit(".", 1)[0] + "."

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(stripped)


@pytest.mark.parametrize("index", [0, 15, 31])
def test_verify_access_flipped_signature_byte_refused(tokens: TokenService, index: int) -> None:
    token, _ = tokens.issue_access(user_id="u", email="e@example.com", role="user", session_id="session-1")
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
    token, _ = tokens.issue_access(user_id="u", email="e@example.com", role="user", session_id="session-1")
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
    token, claims = tokens.issue_access(user_id="u", email="e@example.com", role="user", session_id="session-1")
    clock.now = claims.exp + LEEWAY + 1

    with pytest.raises(TokenExpiredError, match="expired"):
        tokens.verify_access(token)


@pytest.mark.parametrize("past_exp", [0, 1, LEEWAY - 1])
def test_verify_access_exp_past_within_leeway_accepted(tokens: TokenService, clock: Clock, past_exp: int) -> None:
    token, claims = tokens.issue_access(user_id="u", email="e@example.com", role="user", session_id="session-1")
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
    header = b64({"alg": "HS256", "typ": "at+jwt", "kid": CURRENT.kid})
    body = json.dumps(access_payload(), separators=(",", ":"))[:-1] + ',"role":"admin"}'
    signing_input = f"{header}.{b64(body)}"
    signature = hmac.new(CURRENT.secret, signing_input.encode(), hashlib.sha256).digest()

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(f"{signing_input}.{b64(signature)}")


def test_verify_access_signature_in_non_canonical_spelling_refused(tokens: TokenService) -> None:
    token = signed(access_payload())
    head, _, signature = token.rpartition(".")
    # 32 bytes are 43 characters; the last one carries 4 unused bits: flip one and the bytes stay the same.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = signature[:-1] + alphabet[alphabet.index(signature[-1]) ^ 1]
    assert unb64(twin) == unb64(signature)

    with pytest.raises(InvalidTokenError):
        tokens.verify_access(f"{head}.{twin}")
    assert tokens.verify_access(token).sub == "user-1"

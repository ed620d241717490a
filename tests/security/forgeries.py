"""The catalogue of forged credentials the attack suite throws at the authorizer and at the local API.

Every `Case` builds, from a genuine token pair and the genuine signing key (`Genuine`), one value to present:

- `target="access"`: the whole `Authorization` header value for a protected route (a list of values when the case
  sends the header twice, HTTP only; None when it sends no header at all);
- `target="refresh"`: the refresh token to send as `{"refresh_token": ...}` to `POST /auth/refresh`.

`expect` is the contract's error code of the refusal (`missing_token`, `invalid_token`, `token_expired`,
`token_revoked`), or `ALLOW` for the few spellings RFC 6750 makes valid (the case says why), or `NEVER_FORGED` for a
request that carries a forged and a genuine header (whatever the gateway picks, the forged identity never wins).

Access tokens are ES256, signed by a KMS key: `Genuine.sign` is the real key's signature (kms:Sign on moto), used
where only the part under test may fail a token. Forgeries are built by hand (base64url + HMAC, or raw signature
bytes) where pyjwt refuses to (alg none, our PUBLIC key as an HMAC secret, malleated signatures, bad headers), and with
pyjwt where a real asymmetric signature by an attacker's own key is needed. Attacker keys are generated at run time;
nothing secret-looking is written to the repository.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

ALLOW = "allow"
NEVER_FORGED = "never_forged"
MISSING = "missing_token"
INVALID = "invalid_token"
EXPIRED = "token_expired"
REVOKED = "token_revoked"
INVALID_REQUEST = "invalid_request"
AUTHORIZER_CODES = frozenset({MISSING, INVALID, EXPIRED, REVOKED})
REMOVE = object()  # a claim or header value meaning "leave this one out"


@dataclass(frozen=True)
class Genuine:
    """Real credentials of a live deployment (in-process moto or the local API) the forgeries start from."""

    access: str  # a live access token of `sub` (role user)
    refresh: str  # the refresh token of the same session
    sub: str
    email: str
    other_access: str  # a live access token of another user
    other_sub: str
    other_email: str
    revoked_access: str  # an access token of `sub` whose session logged out (jti denylisted)
    revoked_refresh: str  # the refresh token of that logged-out session
    kid: str  # the signing key's kid (its RFC 7638 thumbprint)
    key: bytes  # the service's HMAC secret (refresh-token tags; it signs no JWT any more)
    issuer: str
    audience: str
    sign: Callable[[bytes], bytes]  # the real signing key's raw ES256 signature of a signing input (kms:Sign)
    public_jwk: dict[str, str]  # the real signing key's public JWK, as the JWKS publishes it


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Genuine], str | list[str] | None]
    expect: str
    target: str = "access"  # "access": the Authorization header of a protected route; "refresh": /auth/refresh body
    admin: bool = False  # also present it to GET /admin/users (role-tampering cases)
    layers: frozenset[str] = frozenset({"authorizer", "http"})
    status: int = 401  # the HTTP status of the refusal (400 for a malformed refresh token in the body)
    bug: str | None = None  # the service accepts this forgery or answers 5xx: kept as xfail(strict=True)
    note: str = ""


AUTHORIZER_ONLY = frozenset({"authorizer"})
HTTP_ONLY = frozenset({"http"})


# ---------------------------------------------------------------------------------------------------------------
# Building blocks


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def segments(token: str) -> tuple[str, str, str]:
    header, payload, signature = token.split(".")
    return header, payload, signature


def claims_of(token: str) -> dict[str, Any]:
    return json.loads(unb64(segments(token)[1]))


def encode_json(value: Any) -> str:
    """Compact JSON; a str is taken as JSON text already (NaN, 1e400, 400-digit integers, broken JSON)."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def jws(
    header: Any,
    payload: Any,
    *,
    key: bytes | None = None,
    digest: Any = hashlib.sha256,
    signature: bytes | None = None,
) -> str:
    """A compact JWS by hand: HMAC over the signing input with `key` (any key, even empty), a raw `signature`, or
    none at all."""
    signing_input = f"{b64(encode_json(header))}.{b64(encode_json(payload))}"
    if signature is None:
        signature = b"" if key is None else hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def our_header(g: Genuine, typ: str = "at+jwt", **changes: Any) -> dict[str, Any]:
    header: dict[str, Any] = {"alg": "ES256", "typ": typ, "kid": g.kid}
    header.update(changes)
    return {name: value for name, value in header.items() if value is not REMOVE}


def claims(g: Genuine, token: str | None = None, **changes: Any) -> dict[str, Any]:
    """The genuine access token's claims (or `token`'s), changed; REMOVE drops one."""
    payload = claims_of(token or g.access)
    payload.update(changes)
    return {name: value for name, value in payload.items() if value is not REMOVE}


def raw_claims(g: Genuine, name: str, json_text: str, token: str | None = None) -> str:
    """The genuine access token's claims (or `token`'s) as JSON text with `name` set to `json_text` verbatim: the
    values json.dumps can't write (NaN, 1e400, a 400-digit integer)."""
    payload = claims(g, token)
    payload[name] = "@@PLACEHOLDER@@"
    return encode_json(payload).replace('"@@PLACEHOLDER@@"', json_text)


def real(g: Genuine, payload: Any, typ: str = "at+jwt", **header: Any) -> str:
    """Signed with the real key (ES256, kms:Sign) and kid: only the part under test can make it fail."""
    signing_input = f"{b64(encode_json(our_header(g, typ, **header)))}.{b64(encode_json(payload))}"
    return f"{signing_input}.{b64(g.sign(signing_input.encode()))}"


def public_key_forms(g: Genuine) -> dict[str, bytes]:
    """Our PUBLIC key in every form an attacker could feed an HMAC as its secret (algorithm confusion, RFC 8725 s2.1):
    whoever fetched the JWKS has all of them."""
    x, y = unb64(g.public_jwk["x"]), unb64(g.public_jwk["y"])
    public = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1())
    key = public.public_key()
    return {
        "pem": key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "der": key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "point": key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint),
        "jwk-json": json.dumps(g.public_jwk).encode(),
        "jwk-json-compact": json.dumps(g.public_jwk, separators=(",", ":")).encode(),
        "x": x,
    }


CURVE_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def re_signed(g: Genuine, change: Callable[[int, int], bytes], **claim_changes: Any) -> str:
    """The real key's signature (r, s) of (changed) claims, re-encoded by `change`: malleated, mis-sized, DER..."""
    token = resigned(g, **claim_changes) if claim_changes else g.access
    raw = unb64(segments(token)[2])
    return with_signature(token, b64(change(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))))


def raw_rs(r: int, s: int, size: int = 32) -> bytes:
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def resigned(g: Genuine, **changes: Any) -> str:
    return real(g, claims(g, **changes))


def bearer(token: str) -> str:
    return f"Bearer {token}"


def with_signature(token: str, signature: str) -> str:
    header, payload, _ = segments(token)
    return f"{header}.{payload}.{signature}"


def flip(text: str, index: int) -> str:
    """`text` with the base64url character at `index` replaced by another one (so the decoded bytes change)."""
    replacement = "B" if text[index] == "A" else "A"
    return text[:index] + replacement + text[index + 1 :]


def standard_alphabet(g: Genuine) -> str:
    """A token signed with the real key whose signature has a '-' or '_', written with '+' and '/' instead."""
    for attempt in range(1000):
        token = resigned(g, jti=f"{claims_of(g.access)['jti']}-{attempt}")
        signature = segments(token)[2]
        if "-" in signature or "_" in signature:
            return with_signature(token, signature.replace("-", "+").replace("_", "/"))
    raise AssertionError("no signature with '-' or '_' in 1000 tries")


def tampered(g: Genuine, **changes: Any) -> str:
    """The genuine header and signature around changed claims."""
    header, _, signature = segments(g.access)
    return f"{header}.{b64(encode_json(claims(g, **changes)))}.{signature}"


def reheadered(g: Genuine, **changes: Any) -> str:
    """A changed header around the genuine claims and signature."""
    _, payload, signature = segments(g.access)
    return f"{b64(encode_json(our_header(g, **changes)))}.{payload}.{signature}"


@functools.cache
def attacker_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def attacker_ec() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_der_b64(key: rsa.RSAPrivateKey) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def rsa_jwk(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()

    def uint(value: int) -> str:
        return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "e": uint(numbers.e), "n": uint(numbers.n), "kid": "attacker"}


ATTACKER_HMAC_KEY = b"attacker-chosen-hmac-key-0123456789abcdef"


def attacker_signed(g: Genuine, alg: str, key: Any, payload: dict[str, Any] | None = None, **header: Any) -> str:
    """A properly signed token with the attacker's own key (pyjwt), the genuine claims unless given."""
    headers = {"typ": "at+jwt", "kid": g.kid, **header}
    return jwt.encode(payload or claims(g), key, algorithm=alg, headers=headers)


def hmac_by(g: Genuine, alg: str, key: bytes, **changes: Any) -> str:
    return jws(our_header(g, alg=alg), claims(g, **changes), key=key)


def now() -> float:
    return time.time()


# ---------------------------------------------------------------------------------------------------------------
# The catalogue

NONE_SPELLINGS = ("none", "None", "NONE", "nOnE")


def _alg_none() -> list[Case]:
    cases = []
    for alg in NONE_SPELLINGS:
        cases += [
            Case(
                f"alg-{alg}-empty-signature",
                lambda g, alg=alg: bearer(jws(our_header(g, alg=alg), claims(g))),
                INVALID,
            ),
            Case(
                f"alg-{alg}-garbage-signature",
                lambda g, alg=alg: bearer(jws(our_header(g, alg=alg), claims(g), signature=b"garbage")),
                INVALID,
            ),
        ]
    return [
        *cases,
        Case(
            "alg-none-role-admin",
            lambda g: bearer(jws(our_header(g, alg="none"), claims(g, role="admin"))),
            INVALID,
            admin=True,
        ),
        Case("alg-none-without-kid-and-typ", lambda g: bearer(jws({"alg": "none"}, claims(g))), INVALID),
        Case("alg-absent", lambda g: bearer(jws(our_header(g, alg=REMOVE), claims(g), key=g.key)), INVALID),
        Case("alg-null", lambda g: bearer(jws(our_header(g, alg=None), claims(g), key=g.key)), INVALID),
        Case("alg-empty-string", lambda g: bearer(jws(our_header(g, alg=""), claims(g), key=g.key)), INVALID),
        Case("alg-hs256-lowercase", lambda g: bearer(jws(our_header(g, alg="hs256"), claims(g), key=g.key)), INVALID),
    ]


def _algorithm_confusion() -> list[Case]:
    cases = [
        Case("alg-HS384-real-key", lambda g: bearer(hmac_by(g, "HS384", g.key)), INVALID, note="digest SHA-384"),
        Case("alg-HS512-real-key", lambda g: bearer(hmac_by(g, "HS512", g.key)), INVALID, note="digest SHA-512"),
    ]
    digests = {"HS384": hashlib.sha384, "HS512": hashlib.sha512}
    for alg, digest in digests.items():
        cases.append(
            Case(
                f"alg-{alg}-real-key-right-digest",
                lambda g, alg=alg, digest=digest: bearer(
                    jws(our_header(g, alg=alg), claims(g), key=g.key, digest=digest)
                ),
                INVALID,
            )
        )
    zero_lengths = {"RS256": 256, "PS256": 256, "ES256": 64, "EdDSA": 64}
    for alg in ("RS256", "ES256", "PS256"):
        cases += [
            Case(
                f"alg-{alg}-hmac-by-real-key",
                lambda g, alg=alg: bearer(hmac_by(g, alg, g.key)),
                INVALID,
                note="classic confusion: the verifier's HMAC secret used under an asymmetric alg",
            ),
            Case(
                f"alg-{alg}-hmac-by-public-pem",
                lambda g, alg=alg: bearer(hmac_by(g, alg, public_pem(attacker_rsa()))),
                INVALID,
                note="classic confusion: a public key's PEM used as the HMAC secret",
            ),
        ]
    for alg, length in zero_lengths.items():
        cases.append(
            Case(
                f"alg-{alg}-all-zero-signature",
                lambda g, alg=alg, length=length: bearer(
                    jws(our_header(g, alg=alg), claims(g), signature=bytes(length))
                ),
                INVALID,
                note="ES256 r=s=0 is CVE-2022-21449 (psychic signatures)" if alg == "ES256" else "",
            )
        )
    for form in ("pem", "der", "point", "jwk-json", "jwk-json-compact", "x"):
        for alg, digest in (("HS256", hashlib.sha256), ("HS384", hashlib.sha384), ("HS512", hashlib.sha512)):
            cases.append(
                Case(
                    f"alg-{alg}-hmac-by-our-public-key-{form}",
                    lambda g, alg=alg, digest=digest, form=form: bearer(
                        jws(
                            our_header(g, alg=alg),
                            claims(g, role="admin"),
                            key=public_key_forms(g)[form],
                            digest=digest,
                        )
                    ),
                    INVALID,
                    admin=True,
                    note="algorithm confusion: the JWKS's public key used as an HMAC secret (RFC 8725 s2.1)",
                )
            )
    cases += [
        Case(
            "alg-ES256-zero-signature-role-admin",
            lambda g: bearer(jws(our_header(g, alg="ES256"), claims(g, role="admin"), signature=bytes(64))),
            INVALID,
            admin=True,
        ),
        Case("alg-RS256-attacker-rsa-key", lambda g: bearer(attacker_signed(g, "RS256", attacker_rsa())), INVALID),
        Case("alg-PS256-attacker-rsa-key", lambda g: bearer(attacker_signed(g, "PS256", attacker_rsa())), INVALID),
        Case("alg-ES256-attacker-ec-key", lambda g: bearer(attacker_signed(g, "ES256", attacker_ec())), INVALID),
        Case(
            "alg-ES256-attacker-ec-key-role-admin",
            lambda g: bearer(attacker_signed(g, "ES256", attacker_ec(), claims(g, role="admin"))),
            INVALID,
            admin=True,
            note="another P-256 key under our kid",
        ),
        Case(
            "alg-ES384-real-signature",
            lambda g: bearer(real(g, claims(g), alg="ES384")),
            INVALID,
            note="a genuine signature of this very header: only the alg is wrong",
        ),
        Case("alg-ES256K-real-signature", lambda g: bearer(real(g, claims(g), alg="ES256K")), INVALID),
        Case("alg-es256-lowercase-real-signature", lambda g: bearer(real(g, claims(g), alg="es256")), INVALID),
    ]
    return cases


def _weak_keys() -> list[Case]:
    keys: dict[str, Callable[[Genuine], bytes]] = {
        "empty": lambda g: b"",
        "secret": lambda g: b"secret",
        "password": lambda g: b"password",
        "the-kid": lambda g: g.kid.encode(),
        "the-issuer": lambda g: g.issuer.encode(),
        "the-key-reversed": lambda g: g.key[::-1],
        "the-key-truncated": lambda g: g.key[:32],
    }
    cases = [
        Case(f"hs256-key-{name}", lambda g, key=key: bearer(hmac_by(g, "HS256", key(g))), INVALID)
        for name, key in keys.items()
    ]
    cases.append(
        Case(
            "hs256-key-secret-role-admin",
            lambda g: bearer(hmac_by(g, "HS256", b"secret", role="admin")),
            INVALID,
            admin=True,
        )
    )
    return cases


def _kid_injection() -> list[Case]:
    return [
        Case(
            "kid-path-traversal-dev-null-empty-key",
            lambda g: bearer(jws(our_header(g, kid="../../../../dev/null"), claims(g), key=b"")),
            INVALID,
        ),
        Case("kid-path-traversal-real-key", lambda g: bearer(real(g, claims(g), kid="../../../../dev/null")), INVALID),
        Case(
            "kid-sql-injection-empty-key",
            lambda g: bearer(jws(our_header(g, kid="' OR '1'='1"), claims(g), key=b"")),
            INVALID,
        ),
        Case(
            "kid-sql-injection-key-1",
            lambda g: bearer(jws(our_header(g, kid="' OR '1'='1"), claims(g), key=b"1")),
            INVALID,
        ),
        Case(
            "kid-literal-k1-nul",
            lambda g: bearer(real(g, claims(g), kid="k1\x00")),
            INVALID,
            note="the template's kid is k1",
        ),
        Case("kid-real-kid-nul-prefix", lambda g: bearer(real(g, claims(g), kid="\x00" + g.kid)), INVALID),
        Case("kid-real-kid-uppercase", lambda g: bearer(real(g, claims(g), kid=g.kid.upper())), INVALID),
        Case("kid-real-kid-padded", lambda g: bearer(real(g, claims(g), kid=f" {g.kid} ")), INVALID),
        Case("kid-unknown", lambda g: bearer(real(g, claims(g), kid="k999")), INVALID),
        Case("kid-url", lambda g: bearer(real(g, claims(g), kid="https://attacker.example/jwks.json")), INVALID),
        Case("kid-registry-item-name", lambda g: bearer(real(g, claims(g), kid="SIGNING_KEYS")), INVALID),
        Case(
            "kid-of-the-hmac-secret",
            lambda g: bearer(jws(our_header(g, alg="HS256", kid="k1"), claims(g, role="admin"), key=g.key)),
            INVALID,
            admin=True,
            note="the service's HMAC secret (kid k1) signs no JWT: not even with its own kid",
        ),
        Case("kid-10kb", lambda g: bearer(real(g, claims(g), kid="A" * 10_240)), INVALID),
        Case("kid-object", lambda g: bearer(real(g, claims(g), kid={"kid": g.kid})), INVALID),
        Case("kid-list", lambda g: bearer(real(g, claims(g), kid=[g.kid])), INVALID),
        Case("kid-number", lambda g: bearer(real(g, claims(g), kid=1)), INVALID),
        Case("kid-null", lambda g: bearer(real(g, claims(g), kid=None)), INVALID),
        Case("kid-empty", lambda g: bearer(real(g, claims(g), kid="")), INVALID),
        Case("kid-absent", lambda g: bearer(real(g, claims(g), kid=REMOVE)), INVALID),
    ]


def _embedded_keys() -> list[Case]:
    cases = [
        Case(
            "jwk-embedded-attacker-rsa-key",
            lambda g: bearer(attacker_signed(g, "RS256", attacker_rsa(), jwk=rsa_jwk(attacker_rsa()))),
            INVALID,
            note="CVE-2018-0114: trusting a key embedded in the token",
        ),
        Case(
            "jwk-embedded-attacker-oct-key-role-admin",
            lambda g: bearer(
                jws(
                    our_header(g, jwk={"kty": "oct", "k": b64(ATTACKER_HMAC_KEY)}),
                    claims(g, role="admin"),
                    key=ATTACKER_HMAC_KEY,
                )
            ),
            INVALID,
            admin=True,
        ),
        Case(
            "jku-attacker-url-attacker-key",
            lambda g: bearer(
                jws(our_header(g, jku="https://attacker.example/jwks.json"), claims(g), key=ATTACKER_HMAC_KEY)
            ),
            INVALID,
        ),
        Case(
            "x5u-attacker-url-attacker-key",
            lambda g: bearer(attacker_signed(g, "RS256", attacker_rsa(), x5u="https://attacker.example/cert.pem")),
            INVALID,
        ),
        Case(
            "x5c-attacker-key",
            lambda g: bearer(attacker_signed(g, "RS256", attacker_rsa(), x5c=[public_der_b64(attacker_rsa())])),
            INVALID,
        ),
    ]
    # The same header parameters on a token otherwise signed with the real key: only the parameter can fail it.
    extra: dict[str, Callable[[Genuine], Any]] = {
        "jwk": lambda g: {"kty": "oct", "k": b64(g.key)},
        "jku": lambda g: "https://attacker.example/jwks.json",
        "x5u": lambda g: "https://attacker.example/cert.pem",
        "x5c": lambda g: [public_der_b64(attacker_rsa())],
        "x5t": lambda g: b64(hashlib.sha1(b"attacker", usedforsecurity=False).digest()),
        "x5t#S256": lambda g: b64(hashlib.sha256(b"attacker").digest()),
        "crit": lambda g: ["exp"],
        "b64": lambda g: False,
        "cty": lambda g: "JWT",
        "zip": lambda g: "DEF",
    }
    for name, value in extra.items():
        cases.append(
            Case(
                f"header-{name}-real-key",
                lambda g, name=name, value=value: bearer(real(g, claims(g), **{name: value(g)})),
                INVALID,
            )
        )
    cases.append(
        Case(
            "header-b64-false-detached-payload",
            lambda g: bearer(f"{b64(encode_json(our_header(g, b64=False, crit=['b64'])))}..{segments(g.access)[2]}"),
            INVALID,
        )
    )
    return cases


def _signatures() -> list[Case]:
    return [
        Case("signature-stripped", lambda g: bearer(with_signature(g.access, "")), INVALID),
        Case("signature-stripped-with-its-dot", lambda g: bearer(g.access.rsplit(".", 1)[0]), INVALID),
        Case("signature-truncated-by-4", lambda g: bearer(g.access[:-4]), INVALID),
        Case(
            "signature-truncated-to-half",
            lambda g: bearer(with_signature(g.access, segments(g.access)[2][:21])),
            INVALID,
        ),
        Case(
            "signature-first-char-flipped",
            lambda g: bearer(with_signature(g.access, flip(segments(g.access)[2], 0))),
            INVALID,
        ),
        Case(
            "signature-middle-char-flipped",
            lambda g: bearer(with_signature(g.access, flip(segments(g.access)[2], 20))),
            INVALID,
        ),
        Case("signature-doubled", lambda g: bearer(with_signature(g.access, segments(g.access)[2] * 2)), INVALID),
        Case(
            "signature-of-another-users-token",
            lambda g: bearer(with_signature(g.access, segments(g.other_access)[2])),
            INVALID,
        ),
        Case(
            "signature-of-the-refresh-token",
            lambda g: bearer(with_signature(g.access, g.refresh.rpartition(".")[2])),
            INVALID,
        ),
        Case(
            "signature-with-base64-padding",
            lambda g: bearer(g.access + "="),
            INVALID,
            note="not an escalation (it needs the genuine token), but a second spelling of the same token",
        ),
        Case("signature-with-double-padding", lambda g: bearer(g.access + "=="), INVALID),
        Case(
            "signature-high-s-malleated-twin",
            lambda g: bearer(re_signed(g, lambda r, s: raw_rs(r, CURVE_ORDER - s))),
            INVALID,
            note="(r, n - s) verifies in plain ECDSA: a second spelling of a genuine token, refused",
        ),
        Case(
            "signature-high-s-of-a-resigned-token",
            lambda g: bearer(re_signed(g, lambda r, s: raw_rs(r, CURVE_ORDER - s), jti="another-jti")),
            INVALID,
            note="a fresh jti would dodge a denylist keyed by the whole token; ours is keyed by jti, refused anyway",
        ),
        Case("signature-der-instead-of-raw", lambda g: bearer(re_signed(g, encode_dss_signature)), INVALID),
        Case("signature-r-zero", lambda g: bearer(re_signed(g, lambda r, s: raw_rs(0, s))), INVALID),
        Case("signature-s-zero", lambda g: bearer(re_signed(g, lambda r, s: raw_rs(r, 0))), INVALID),
        Case(
            "signature-r-plus-n",
            lambda g: bearer(re_signed(g, lambda r, s: (r + CURVE_ORDER).to_bytes(33, "big") + s.to_bytes(32, "big"))),
            INVALID,
        ),
        Case("signature-r-and-s-swapped", lambda g: bearer(re_signed(g, lambda r, s: raw_rs(s, r))), INVALID),
        Case("signature-63-bytes", lambda g: bearer(re_signed(g, lambda r, s: raw_rs(r, s)[:63])), INVALID),
        Case("signature-65-bytes", lambda g: bearer(re_signed(g, lambda r, s: raw_rs(r, s) + b"\x00")), INVALID),
        Case("signature-96-bytes", lambda g: bearer(re_signed(g, lambda r, s: raw_rs(r, s, 48))), INVALID),
        Case(
            "signature-standard-base64-alphabet",
            lambda g: bearer(standard_alphabet(g)),
            INVALID,
            note="'+' and '/' for '-' and '_' (RFC 7515 s2: base64url only)",
        ),
    ]


def _tampered_claims() -> list[Case]:
    return [
        Case(
            "tampered-role-admin-original-signature", lambda g: bearer(tampered(g, role="admin")), INVALID, admin=True
        ),
        Case("tampered-sub-another-user-original-signature", lambda g: bearer(tampered(g, sub=g.other_sub)), INVALID),
        Case(
            "tampered-email-another-user-original-signature",
            lambda g: bearer(tampered(g, email=g.other_email)),
            INVALID,
        ),
        Case(
            "tampered-sub-and-email-another-user",
            lambda g: bearer(tampered(g, sub=g.other_sub, email=g.other_email)),
            INVALID,
        ),
        Case("tampered-exp-one-year-later", lambda g: bearer(tampered(g, exp=int(now()) + 31_536_000)), INVALID),
        Case("tampered-jti", lambda g: bearer(tampered(g, jti="attacker-jti")), INVALID),
        Case("tampered-header-typ-jwt", lambda g: bearer(reheadered(g, typ="JWT")), INVALID),
        Case("tampered-header-alg-hs512", lambda g: bearer(reheadered(g, alg="HS512")), INVALID),
        Case("tampered-header-alg-none", lambda g: bearer(reheadered(g, alg="none")), INVALID),
        Case("tampered-header-kid", lambda g: bearer(reheadered(g, kid="k999")), INVALID),
    ]


def _resigned_claims() -> list[Case]:
    """Signed with the real key: what the claim checks alone must refuse (or, for the role, neutralize)."""
    cases = [
        Case("resigned-wrong-iss", lambda g: bearer(resigned(g, iss="https://attacker.example")), INVALID),
        Case("resigned-wrong-aud", lambda g: bearer(resigned(g, aud="another-api")), INVALID),
        Case("resigned-aud-as-list", lambda g: bearer(resigned(g, aud=[g.audience])), INVALID, note="strict_aud"),
        Case(
            "resigned-aud-as-list-with-another", lambda g: bearer(resigned(g, aud=[g.audience, "another-api"])), INVALID
        ),
        Case("resigned-typ-missing", lambda g: bearer(real(g, claims(g), typ=REMOVE)), INVALID),
        Case("resigned-typ-JWT", lambda g: bearer(real(g, claims(g), typ="JWT")), INVALID),
        Case("resigned-typ-rt+jwt", lambda g: bearer(real(g, claims(g), typ="rt+jwt")), INVALID),
        Case("resigned-typ-uppercase", lambda g: bearer(real(g, claims(g), typ="AT+JWT")), INVALID),
        Case("resigned-exp-past", lambda g: bearer(resigned(g, iat=now() - 7200, exp=int(now()) - 3600)), EXPIRED),
        Case("resigned-exp-just-past-leeway", lambda g: bearer(resigned(g, exp=int(now()) - 60)), EXPIRED),
        Case("resigned-nbf-future", lambda g: bearer(resigned(g, nbf=int(now()) + 3600)), INVALID),
        Case("resigned-iat-future", lambda g: bearer(resigned(g, iat=now() + 3600, exp=int(now()) + 4500)), INVALID),
        Case("resigned-role-root", lambda g: bearer(resigned(g, role="root")), INVALID),
        Case("resigned-role-Admin-capitalized", lambda g: bearer(resigned(g, role="Admin")), INVALID),
        Case("resigned-role-empty", lambda g: bearer(resigned(g, role="")), INVALID),
        Case("resigned-role-null", lambda g: bearer(resigned(g, role=None)), INVALID),
        Case("resigned-role-list", lambda g: bearer(resigned(g, role=["admin"])), INVALID),
        Case("resigned-sub-empty", lambda g: bearer(resigned(g, sub="")), INVALID),
        Case("resigned-sub-number", lambda g: bearer(resigned(g, sub=1)), INVALID),
        Case("resigned-email-object", lambda g: bearer(resigned(g, email={"email": g.email})), INVALID),
        Case("resigned-exp-string", lambda g: bearer(resigned(g, exp=str(int(now()) + 900))), INVALID),
        Case("resigned-exp-true", lambda g: bearer(resigned(g, exp=True)), INVALID),
        Case("resigned-exp-null", lambda g: bearer(resigned(g, exp=None)), INVALID),
        Case("resigned-exp-NaN", lambda g: bearer(real(g, raw_claims(g, "exp", "NaN"))), INVALID),
        Case("resigned-exp-Infinity", lambda g: bearer(real(g, raw_claims(g, "exp", "Infinity"))), INVALID),
        Case("resigned-exp-1e400", lambda g: bearer(real(g, raw_claims(g, "exp", "1e400"))), INVALID),
        Case("resigned-iat-minus-1e400", lambda g: bearer(real(g, raw_claims(g, "iat", "-1e400"))), INVALID),
        Case(
            "resigned-exp-400-digit-integer",
            lambda g: bearer(real(g, raw_claims(g, "exp", "1" + "0" * 400))),
            INVALID,
        ),
        Case(
            "resigned-nbf-400-digit-integer",
            lambda g: bearer(real(g, raw_claims(g, "nbf", "1" + "0" * 400))),
            INVALID,
        ),
        Case(
            "resigned-role-admin-current-role-wins",
            lambda g: bearer(resigned(g, role="admin")),
            ALLOW,
            admin=True,
            note="even a token signed with the real key can't grant a role: the authorizer passes the user's CURRENT "
            "role, so the caller is the genuine user (Allow, role user) and /admin/users answers 403",
        ),
        Case(
            "resigned-sub-another-user",
            lambda g: bearer(resigned(g, sub=g.other_sub)),
            REVOKED,
            note="sub and email disagree",
        ),
        Case("resigned-email-another-user", lambda g: bearer(resigned(g, email=g.other_email)), REVOKED),
        Case(
            "resigned-unknown-user",
            lambda g: bearer(resigned(g, sub="no-such-user", email="nobody@example.com")),
            REVOKED,
        ),
        Case("resigned-denylisted-jti", lambda g: bearer(resigned(g, jti=claims_of(g.revoked_access)["jti"])), REVOKED),
        Case(
            "resigned-sid-of-another-users-session",
            lambda g: bearer(resigned(g, sid=claims_of(g.other_access)["sid"])),
            REVOKED,
        ),
        Case(
            "resigned-sid-of-an-ended-session",
            lambda g: bearer(resigned(g, sid=claims_of(g.revoked_access)["sid"])),
            REVOKED,
        ),
        Case("resigned-sid-unknown", lambda g: bearer(resigned(g, sid="A" * 22)), REVOKED),
    ]
    for claim in ("iss", "aud", "sub", "email", "role", "sid", "iat", "exp", "jti"):
        cases.append(
            Case(f"resigned-missing-{claim}", lambda g, claim=claim: bearer(resigned(g, **{claim: REMOVE})), INVALID)
        )
    return cases


def _structural_garbage() -> list[Case]:
    return [
        Case("garbage-empty-token", lambda g: "Bearer ", INVALID),
        Case("garbage-dot", lambda g: bearer("."), INVALID),
        Case("garbage-two-dots", lambda g: bearer(".."), INVALID),
        Case("garbage-three-dots", lambda g: bearer("..."), INVALID),
        Case("garbage-two-segments", lambda g: bearer("a.b"), INVALID),
        Case("garbage-three-letters", lambda g: bearer("a.b.c"), INVALID),
        Case("garbage-four-segments", lambda g: bearer("a.b.c.d"), INVALID),
        Case("garbage-genuine-plus-fourth-segment", lambda g: bearer(g.access + ".x"), INVALID),
        Case("garbage-genuine-jwe-shaped-five-segments", lambda g: bearer(g.access + ".x.y"), INVALID),
        Case("garbage-non-base64", lambda g: bearer("!!!.@@@.###"), INVALID),
        Case("garbage-percent-in-segments", lambda g: bearer("eyJ%%%.eyJ%%%.abc"), INVALID),
        Case(
            "garbage-base64-of-non-json", lambda g: bearer(f"{b64('not json')}.{b64('also not')}.{b64('sig')}"), INVALID
        ),
        Case("garbage-header-json-array", lambda g: bearer(jws([our_header(g)], claims(g), key=g.key)), INVALID),
        Case("garbage-header-json-string", lambda g: bearer(jws('"HS256"', claims(g), key=g.key)), INVALID),
        Case("garbage-header-json-null", lambda g: bearer(jws("null", claims(g), key=g.key)), INVALID),
        Case(
            "garbage-header-deeply-nested",
            lambda g: bearer(jws("[" * 1200 + "]" * 1200, claims(g), key=g.key)),
            INVALID,
        ),
        Case("garbage-payload-json-array-real-key", lambda g: bearer(real(g, [claims(g)])), INVALID),
        Case("garbage-payload-not-json-real-key", lambda g: bearer(real(g, "not json")), INVALID),
        Case("garbage-payload-empty-real-key", lambda g: bearer(jws(our_header(g), "", key=g.key)), INVALID),
        Case("garbage-payload-deeply-nested-real-key", lambda g: bearer(real(g, "[" * 1200 + "]" * 1200)), INVALID),
        Case(
            "garbage-5kb-token-real-key",
            lambda g: bearer(resigned(g, pad="A" * 5000)),
            INVALID,
            note="over MAX_TOKEN_LENGTH",
        ),
        Case(
            "garbage-100kb-token",
            lambda g: bearer("A" * 100_000 + "." + "B" * 10 + "." + "C" * 10),
            INVALID,
            layers=AUTHORIZER_ONLY,
            note="over HTTP see test_forged_tokens_http.py: the header line alone exceeds the server's limit",
        ),
        Case("garbage-60kb-token", lambda g: bearer("A" * 60_000 + "." + "B" * 10 + "." + "C" * 10), INVALID),
        Case("garbage-unicode-in-payload", lambda g: bearer(g.access.replace(".", ".é", 1)), INVALID),
        Case("garbage-unicode-fullwidth-dots", lambda g: bearer(g.access.replace(".", "\uff0e")), INVALID),
        Case("garbage-nul-appended", lambda g: bearer(g.access + "\x00"), INVALID),
        Case("garbage-nul-in-signature", lambda g: bearer(g.access[:-5] + "\x00" + g.access[-5:]), INVALID),
        Case("garbage-nul-only", lambda g: bearer("\x00" * 8), INVALID),
        Case("garbage-tab-inside-signature", lambda g: bearer(g.access[:-5] + "\t" + g.access[-5:]), INVALID),
        Case("garbage-space-inside-payload", lambda g: bearer(g.access.replace(".", ". ", 1)), INVALID),
        Case(
            "garbage-newline-inside",
            lambda g: bearer(g.access.replace(".", ".\n", 1)),
            INVALID,
            layers=AUTHORIZER_ONLY,
            note="can't travel in an HTTP header",
        ),
        Case(
            "garbage-vertical-tab-inside-signature", lambda g: bearer(g.access[:-5] + "\x0b" + g.access[-5:]), INVALID
        ),
        Case(
            "garbage-vertical-tab-appended",
            lambda g: bearer(g.access + "\x0b"),
            INVALID,
            note="not an escalation (it needs the genuine token), but control characters around a credential are "
            "garbage, not HTTP whitespace (RFC 9110 s5.5: OWS is SP / HTAB only)",
        ),
    ]


def _header_variants() -> list[Case]:
    rfc = "RFC 6750 s2.1 + RFC 9110 s11.1: the auth-scheme is case-insensitive, so this is a VALID spelling"
    return [
        Case("scheme-lowercase-valid-token", lambda g: f"bearer {g.access}", ALLOW, note=rfc),
        Case("scheme-uppercase-valid-token", lambda g: f"BEARER {g.access}", ALLOW, note=rfc),
        Case("scheme-mixed-case-valid-token", lambda g: f"bEaReR {g.access}", ALLOW, note=rfc),
        Case(
            "scheme-two-spaces-valid-token",
            lambda g: f"Bearer  {g.access}",
            ALLOW,
            note='RFC 6750 s2.1: credentials = "Bearer" 1*SP b64token, so two spaces are VALID',
        ),
        Case("scheme-lowercase-garbage", lambda g: "bearer x", INVALID),
        Case("scheme-uppercase-garbage", lambda g: "BEARER x", INVALID),
        Case("scheme-two-spaces-garbage", lambda g: "Bearer  x", INVALID),
        Case("scheme-two-tokens", lambda g: "Bearer x y", INVALID),
        Case("scheme-valid-token-then-trailing-word", lambda g: f"Bearer {g.access} trailing", INVALID),
        Case("scheme-valid-token-twice", lambda g: f"Bearer {g.access} {g.access}", INVALID),
        Case("scheme-valid-token-comma", lambda g: f"Bearer {g.access},", INVALID),
        Case("scheme-valid-token-quoted", lambda g: f'Bearer "{g.access}"', INVALID),
        Case("scheme-basic", lambda g: "Basic dXNlcjpwdw==", INVALID),
        Case("scheme-basic-valid-token", lambda g: f"Basic {g.access}", INVALID),
        Case("scheme-token", lambda g: "Token x", INVALID),
        Case("scheme-token-valid-token", lambda g: f"Token {g.access}", INVALID),
        Case("scheme-jwt-valid-token", lambda g: f"JWT {g.access}", INVALID),
        Case("scheme-alone", lambda g: "Bearer", INVALID),
        Case("scheme-tab-instead-of-space", lambda g: f"Bearer\t{g.access}", INVALID, note="RFC 9110: 1*SP, not HTAB"),
        Case("scheme-glued-to-token", lambda g: f"Bearer{g.access}", INVALID),
        Case("scheme-colon", lambda g: f"Bearer: {g.access}", INVALID),
        Case("scheme-cyrillic-e", lambda g: f"B\u0435arer {g.access}", INVALID),
        Case("scheme-missing-valid-token", lambda g: g.access, INVALID),
        Case("header-empty", lambda g: "", MISSING),
        Case("header-whitespace-only", lambda g: "   ", MISSING),
        Case(
            "header-absent", lambda g: None, MISSING, layers=HTTP_ONLY, note="API Gateway doesn't call the authorizer"
        ),
        Case("refresh-token-as-access-token", lambda g: bearer(g.refresh), INVALID),
        Case("genuine-access-token-after-logout", lambda g: bearer(g.revoked_access), REVOKED),
        Case(
            "two-authorization-headers-both-forged",
            lambda g: [
                bearer(jws(our_header(g, alg="none"), claims(g, role="admin"))),
                bearer(tampered(g, role="admin")),
            ],
            INVALID,
            admin=True,
            layers=HTTP_ONLY,
        ),
        Case(
            "two-authorization-headers-forged-then-genuine",
            lambda g: [bearer(tampered(g, sub=g.other_sub, role="admin")), bearer(g.access)],
            NEVER_FORGED,
            admin=True,
            layers=HTTP_ONLY,
            note="the gateway may pick either value; the forged identity (another user, admin) must never win",
        ),
        Case(
            "two-authorization-headers-genuine-then-forged",
            lambda g: [bearer(g.access), bearer(tampered(g, sub=g.other_sub, role="admin"))],
            NEVER_FORGED,
            admin=True,
            layers=HTTP_ONLY,
            note="the gateway may pick either value; the forged identity (another user, admin) must never win",
        ),
    ]


def refresh_parts(token: str) -> list[str]:
    """rt1.<session id>.<email>.<secret>.<tag> (auth_core.refresh_tokens)."""
    return token.split(".")


def refresh_token(g: Genuine, *, key: bytes, session_id: str, email: str, secret: bytes) -> str:
    """A refresh token in our own format, tagged with `key` (the real one or an attacker's)."""
    from auth_core.keys import SigningKey, subkey

    body = f"rt1.{session_id}.{b64(email)}.{b64(secret)}"
    tag = hmac.new(subkey(SigningKey(g.kid, key), "refresh-tag/v1"), body.encode(), hashlib.sha256).digest()[:16]
    return f"{body}.{b64(tag)}"


def _refresh_cases() -> list[Case]:
    def sid(token: str) -> str:
        return refresh_parts(token)[1]

    def swapped(token: str, index: int, value: str) -> str:
        parts = refresh_parts(token)
        parts[index] = value
        return ".".join(parts)

    def flipped(segment: str) -> str:
        return ("B" if segment[0] == "A" else "A") + segment[1:]

    def refresh_case(name: str, build: Callable[[Genuine], str], expect: str, **kwargs: Any) -> Case:
        status = 400 if expect == INVALID_REQUEST else 401
        return Case(name, build, expect, target="refresh", status=status, **kwargs)

    return [
        # A JWT is never a refresh token: not even shaped like one.
        refresh_case("access-token-as-refresh-token", lambda g: g.access, INVALID_REQUEST),
        refresh_case("another-users-access-token-as-refresh-token", lambda g: g.other_access, INVALID_REQUEST),
        refresh_case("refresh-jwt-shaped-garbage", lambda g: "a.b.c", INVALID_REQUEST),
        refresh_case(
            "refresh-hs256-jwt-with-the-real-key",
            lambda g: jws(our_header(g, "rt+jwt"), {"sub": g.sub, "sid": sid(g.refresh)}, key=g.key),
            INVALID_REQUEST,
        ),
        # Our shape, but not our tag: refused before any session is touched.
        refresh_case(
            "refresh-tag-flipped", lambda g: swapped(g.refresh, 4, flipped(refresh_parts(g.refresh)[4])), INVALID
        ),
        refresh_case(
            "refresh-tag-of-another-token",
            lambda g: swapped(g.refresh, 4, refresh_parts(g.revoked_refresh)[4]),
            INVALID,
        ),
        refresh_case(
            "refresh-secret-changed", lambda g: swapped(g.refresh, 3, flipped(refresh_parts(g.refresh)[3])), INVALID
        ),
        refresh_case("refresh-session-swapped", lambda g: swapped(g.refresh, 1, sid(g.revoked_refresh)), INVALID),
        refresh_case("refresh-email-swapped", lambda g: swapped(g.refresh, 2, b64(g.other_email)), INVALID),
        refresh_case(
            "refresh-tagged-with-a-weak-key",
            lambda g: refresh_token(g, key=b"secret", session_id=sid(g.refresh), email=g.email, secret=b"\0" * 32),
            INVALID,
        ),
        refresh_case(
            "refresh-tagged-with-an-attackers-key",
            lambda g: refresh_token(
                g, key=hashlib.sha256(b"attacker").digest(), session_id=sid(g.refresh), email=g.email, secret=b"x" * 32
            ),
            INVALID,
        ),
        # Tagged with the real key (a stolen secret): still only what the session's state allows.
        refresh_case(
            "refresh-real-key-unknown-session",
            lambda g: refresh_token(g, key=g.key, session_id="A" * 22, email=g.email, secret=b"x" * 32),
            EXPIRED,
            note="no such session: as if it had expired and been deleted",
        ),
        refresh_case(
            "refresh-real-key-ended-session",
            lambda g: refresh_token(g, key=g.key, session_id=sid(g.revoked_refresh), email=g.email, secret=b"x" * 32),
            REVOKED,
        ),
        refresh_case(
            "refresh-real-key-someone-elses-email",
            lambda g: refresh_token(
                g, key=g.key, session_id=sid(g.revoked_refresh), email=g.other_email, secret=b"x" * 32
            ),
            REVOKED,
        ),
        refresh_case("refresh-after-logout", lambda g: g.revoked_refresh, REVOKED),
        # Not even shaped like one: a malformed request.
        refresh_case("refresh-not-shaped", lambda g: "garbage", INVALID_REQUEST),
        refresh_case("refresh-empty-string", lambda g: "", INVALID_REQUEST),
        refresh_case("refresh-5kb", lambda g: g.refresh + "A" * 5000, INVALID_REQUEST),
        refresh_case("refresh-unicode", lambda g: g.refresh.replace(".", ".é", 1), INVALID_REQUEST),
        refresh_case("refresh-extra-segment", lambda g: g.refresh + ".x", INVALID_REQUEST),
        refresh_case("refresh-segment-missing", lambda g: g.refresh.rpartition(".")[0], INVALID_REQUEST),
        refresh_case("refresh-padded-tag", lambda g: g.refresh + "==", INVALID_REQUEST),
        refresh_case("refresh-other-version", lambda g: "rt2" + g.refresh[3:], INVALID_REQUEST),
        refresh_case("refresh-email-not-utf8", lambda g: swapped(g.refresh, 2, b64(b"\xff\xfe\xfd\xfc")), INVALID),
        refresh_case(
            "refresh-non-canonical-base64-secret",
            lambda g: swapped(g.refresh, 3, refresh_parts(g.refresh)[3][:-1] + "_"),
            INVALID,
            note="the last character's low bits must be zero: another spelling of the same bytes is refused",
        ),
    ]


CASES: list[Case] = [
    *_alg_none(),
    *_algorithm_confusion(),
    *_weak_keys(),
    *_kid_injection(),
    *_embedded_keys(),
    *_signatures(),
    *_tampered_claims(),
    *_resigned_claims(),
    *_structural_garbage(),
    *_header_variants(),
    *_refresh_cases(),
]
assert len({case.name for case in CASES}) == len(CASES), "case names must be unique"


def cases_for(layer: str) -> list[Case]:
    return [case for case in CASES if layer in case.layers]

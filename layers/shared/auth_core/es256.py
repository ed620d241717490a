"""ES256 (RFC 7518 s3.4) as JWS needs it: P-256 public keys as JWKs and their RFC 7638 thumbprints, KMS's DER
signatures as JWS's raw `r || s`, and the one verification the authorizer runs per request (cryptography's, with the
public key held in memory: never a KMS call per request).

One token, one spelling (RFC 7515 s2; ECDSA signatures are malleable): signatures are issued with a low `s` and a
signature with a high `s`, or of any length but 64 bytes, is refused before the curve arithmetic runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

# cryptography (OpenSSL's bindings) is imported by the functions below, on first use: a handler that never signs or
# verifies a token (me, admin, register) doesn't pay for it on its cold start.
ALGORITHM = "ES256"
COORDINATE_BYTES = 32
SIGNATURE_BYTES = 2 * COORDINATE_BYTES
# The order of P-256's base point (SEC 2 / FIPS 186-4 D.1.2.3).
CURVE_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def public_jwk(der_public_key: bytes) -> dict[str, str]:
    """The RFC 7517 JWK of a P-256 public key in DER (what kms:GetPublicKey returns), with its thumbprint as `kid`.
    Never a private member: there is none to add (the private key stays in KMS)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    key = load_der_public_key(der_public_key)
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not a P-256 public key")
    numbers = key.public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(COORDINATE_BYTES, "big")),
        "y": b64url(numbers.y.to_bytes(COORDINATE_BYTES, "big")),
    }
    return {**jwk, "kid": thumbprint(jwk), "alg": ALGORITHM, "use": "sig"}


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 s3: SHA-256 over the required members in lexicographic order, no whitespace, base64url."""
    required = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return b64url(hashlib.sha256(canonical).digest())


def verifying_key(jwk: dict[str, Any]) -> EllipticCurvePublicKey:
    """The public key of one of our JWKs (cryptography checks that the point is on the curve)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    x, y = (int.from_bytes(b64url_decode(jwk[name]), "big") for name in ("x", "y"))
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


def raw_signature(der_signature: bytes) -> bytes:
    """KMS's DER-encoded ECDSA signature as JWS's fixed-width `r || s` (RFC 7518 s3.4), with the low `s` of the two
    equivalent ones, so each token has one spelling."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(der_signature)
    s = min(s, CURVE_ORDER - s)
    return r.to_bytes(COORDINATE_BYTES, "big") + s.to_bytes(COORDINATE_BYTES, "big")


def is_valid_signature(key: EllipticCurvePublicKey, signing_input: bytes, signature: bytes) -> bool:
    """Whether `signature` is the raw, low-s ES256 signature of `signing_input` by `key`. r and s are checked to lie
    in [1, n-1] (s in [1, n/2]) first: r = s = 0 is CVE-2022-21449's "psychic signature"."""
    if len(signature) != SIGNATURE_BYTES:
        return False
    r = int.from_bytes(signature[:COORDINATE_BYTES], "big")
    s = int.from_bytes(signature[COORDINATE_BYTES:], "big")
    if not (0 < r < CURVE_ORDER and 0 < s <= CURVE_ORDER // 2):
        return False
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    try:
        key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True

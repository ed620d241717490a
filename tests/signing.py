"""Tokens signed by the real signing key, as an attacker who could call kms:Sign would sign them: the control cases
of the forgery tests (only the part under test can make them fail)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from auth_core.es256 import raw_signature


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment_json(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def kms_signature(kms: Any, key_id: str, signing_input: bytes) -> bytes:
    """The raw ES256 signature KMS gives `signing_input` (moto's key: the private half never leaves it)."""
    digest = hashlib.sha256(signing_input).digest()
    der = kms.sign(KeyId=key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    return raw_signature(der)


def es256_token(kms: Any, key_id: str, header: dict[str, Any], claims: dict[str, Any]) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(kms_signature(kms, key_id, signing_input.encode()))}"


def resign(kms: Any, token: str, **changes: Any) -> str:
    """The same access token's header and claims, `changes` applied, signed again by the KMS key that signed it."""
    from auth_core import container

    header_segment, claims_segment, _ = token.split(".")
    header = segment_json(header_segment)
    key = container.key_registry().read().find(header["kid"])
    assert key is not None, "the token's key is not in the registry"
    return es256_token(kms, key.key_id, header, segment_json(claims_segment) | changes)

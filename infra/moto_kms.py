"""moto's KMS as AWS's: `Sign` and `Verify` with `MessageType=DIGEST` take the message as the digest already computed.

moto 5.2 reads MessageType and ignores it, hashing the digest a second time, so a signature of a digest made by moto
would not verify anywhere else. The service signs digests (one round trip, no 4 KB message limit), so the embedded
backend and the tests apply this once, before any key signs. Everything else about moto's KMS stays as it is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

_digest_call = threading.local()
_DIGESTS = {"ECDSA_SHA_256": hashes.SHA256(), "ECDSA_SHA_384": hashes.SHA384(), "ECDSA_SHA_512": hashes.SHA512()}


def honour_digest_message_type() -> None:
    """Patch moto's KMS so that MessageType=DIGEST signs and verifies the digest as given (idempotent)."""
    from moto.kms import responses
    from moto.kms import utils as kms_utils

    if getattr(responses.KmsResponse.sign, "honours_digest", False):
        return
    original_sign, original_verify = responses.KmsResponse.sign, responses.KmsResponse.verify
    key_sign, key_verify = kms_utils.ECDSAPrivateKey.sign, kms_utils.ECDSAPrivateKey.verify

    def noting_digest(original: Callable[[Any], Any]) -> Callable[[Any], str]:
        """The response handler, with the request's MessageType noted for the key's sign/verify below."""

        def handle(self: Any) -> str:
            _digest_call.active = self._get_param("MessageType") == "DIGEST"
            try:
                return str(original(self))
            finally:
                _digest_call.active = False

        return handle

    sign, verify = noting_digest(original_sign), noting_digest(original_verify)

    def ecdsa_sign(self: Any, message: bytes, signing_algorithm: str) -> bytes:
        if not getattr(_digest_call, "active", False):
            return bytes(key_sign(self, message, signing_algorithm))
        algorithm = ec.ECDSA(utils.Prehashed(_DIGESTS[signing_algorithm]))
        return bytes(self.private_key.sign(message, algorithm))

    def ecdsa_verify(self: Any, message: bytes, signature: bytes, signing_algorithm: str) -> bool:
        if not getattr(_digest_call, "active", False):
            return bool(key_verify(self, message, signature, signing_algorithm))
        algorithm = ec.ECDSA(utils.Prehashed(_DIGESTS[signing_algorithm]))
        try:
            self.private_key.public_key().verify(signature, message, algorithm)
        except Exception:  # noqa: BLE001 - cryptography's InvalidSignature, and a digest of the wrong length
            return False
        return True

    sign.honours_digest = True  # type: ignore[attr-defined]
    responses.KmsResponse.sign = sign  # type: ignore[method-assign,assignment]
    responses.KmsResponse.verify = verify  # type: ignore[method-assign,assignment]
    kms_utils.ECDSAPrivateKey.sign = ecdsa_sign  # type: ignore[method-assign]
    kms_utils.ECDSAPrivateKey.verify = ecdsa_verify  # type: ignore[method-assign]

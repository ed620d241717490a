"""Rotation of the signing key by Secrets Manager's four-step protocol (createSecret, setSecret, testSecret,
finishSecret). The new version gets a new random key and `kid`; the old one becomes AWSPREVIOUS, which verifiers still
accept, so tokens signed before the rotation keep working until they expire, and the one before is dropped.

After a leak, `replace_now` runs the same four steps and then takes AWSPREVIOUS off every other version, so the old key
verifies nothing (`make rotate-key-emergency`).
"""

from __future__ import annotations

import json
import secrets
import string
import uuid
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from auth_core.keys import MIN_KEY_BYTES, parse_signing_key
from auth_core.observability import audit

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

KEY_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 64  # about 381 bits, like the template's GenerateSecretString
assert KEY_LENGTH >= MIN_KEY_BYTES


class RotationError(RuntimeError):
    """The secret is not in a state this step can work from; Secrets Manager retries or reports the rotation."""


def new_key_document() -> str:
    key = "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))
    return json.dumps({"kid": secrets.token_hex(8), "alg": "HS256", "key": key})


ROTATION_STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")  # in the order Secrets Manager calls them


class KeyRotator:
    def __init__(self, client: SecretsManagerClient) -> None:
        self._client = client

    def run(self, *, secret_id: str, token: str, step: str) -> None:
        steps = {
            "createSecret": self._create,
            "setSecret": self._set,
            "testSecret": self._test,
            "finishSecret": self._finish,
        }
        if step not in steps:
            raise RotationError(f"unknown rotation step {step!r}")
        if step != "createSecret":  # createSecret is what gives the version its value
            self._check_version(secret_id, token)
        steps[step](secret_id, token)

    def replace_now(self, *, secret_id: str) -> str:
        """Emergency replacement: a new key made current by the rotation's own steps, and no other version left with a
        label the verifiers read (keys.py reads AWSCURRENT and AWSPREVIOUS), so the old key verifies nothing and
        everything signed with it is refused. Returns the new version's id."""
        token = str(uuid.uuid4())
        for step in ROTATION_STEPS:
            self.run(secret_id=secret_id, token=token, step=step)
        stages = self._client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
        for version, names in stages.items():
            if version != token and "AWSPREVIOUS" in names:
                self._client.update_secret_version_stage(
                    SecretId=secret_id, VersionStage="AWSPREVIOUS", RemoveFromVersionId=version
                )
        # Nothing is pending any more: AWSCURRENT is the new version's only label.
        self._client.update_secret_version_stage(
            SecretId=secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=token
        )
        audit("signing_key_replaced", "success")
        return token

    def _check_version(self, secret_id: str, token: str) -> None:
        stages = self._client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
        if token not in stages:
            raise RotationError("the rotation's version is not a version of the secret")

    def _create(self, secret_id: str, token: str) -> None:
        try:
            self._client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage="AWSPENDING")
            return  # a retried createSecret: the pending version exists already
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        self._client.put_secret_value(
            SecretId=secret_id, ClientRequestToken=token, SecretString=new_key_document(), VersionStages=["AWSPENDING"]
        )

    def _set(self, secret_id: str, token: str) -> None:
        """Nothing outside the secret holds the key: verifiers read both versions from Secrets Manager."""

    def _test(self, secret_id: str, token: str) -> None:
        pending = self._client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage="AWSPENDING")
        parse_signing_key(pending["SecretString"])  # raises unless it is a usable key with a kid

    def _finish(self, secret_id: str, token: str) -> None:
        stages = self._client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
        current = next((version for version, names in stages.items() if "AWSCURRENT" in names), None)
        if current == token:
            return  # a retried finishSecret
        if current is None:
            raise RotationError("the secret has no AWSCURRENT version")
        # Secrets Manager moves AWSPREVIOUS to the version that loses AWSCURRENT.
        self._client.update_secret_version_stage(
            SecretId=secret_id, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current
        )
        audit("signing_key_rotated", "success")

"""The signing-key cache: bounded age, stale keys kept through a Secrets Manager outage, unknown kids re-read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from auth_core.errors import DependencyError
from auth_core.keys import KeyStore


class FakeSecrets:
    """get_secret_value by stage, counting calls; `is_down` makes every call fail like an outage."""

    def __init__(self) -> None:
        self.versions = {"AWSCURRENT": {"kid": "k1", "alg": "HS256", "key": "a" * 64}}
        self.calls = 0
        self.is_down = False

    def get_secret_value(self, SecretId: str, VersionStage: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        self.calls += 1
        if self.is_down:
            raise ClientError({"Error": {"Code": "InternalServiceError"}}, "GetSecretValue")
        if VersionStage not in self.versions:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "GetSecretValue")
        return {"SecretString": json.dumps(self.versions[VersionStage])}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr("auth_core.keys.time.monotonic", lambda: now[0])
    return now


def test_ring_within_max_age_reads_secrets_manager_once(clock: list[float]) -> None:
    secrets = FakeSecrets()
    store = KeyStore(secrets, "s", max_age=300)  # type: ignore[arg-type]

    for _ in range(5):
        assert store.ring().current.kid == "k1"

    assert secrets.calls == 2  # AWSCURRENT and AWSPREVIOUS, once


def test_ring_after_max_age_sees_rotated_key(clock: list[float]) -> None:
    secrets = FakeSecrets()
    store = KeyStore(secrets, "s", max_age=300)  # type: ignore[arg-type]
    store.ring()
    secrets.versions = {"AWSCURRENT": {"kid": "k2", "key": "b" * 64}, "AWSPREVIOUS": secrets.versions["AWSCURRENT"]}

    clock[0] += 301

    ring = store.ring()
    assert (ring.current.kid, ring.previous.kid if ring.previous else None) == ("k2", "k1")


def test_ring_when_secrets_manager_is_down_keeps_stale_keys_for_an_hour(clock: list[float]) -> None:
    secrets = FakeSecrets()
    store = KeyStore(secrets, "s", max_age=300)  # type: ignore[arg-type]
    store.ring()
    secrets.is_down = True

    clock[0] += 301
    assert store.ring().current.kid == "k1"
    calls = secrets.calls
    assert store.ring().current.kid == "k1"
    assert secrets.calls == calls  # no retry storm: the next try waits a few seconds

    clock[0] += 3600
    with pytest.raises(DependencyError):
        store.ring()


def test_ring_at_cold_start_with_secrets_manager_down_is_a_dependency_error(clock: list[float]) -> None:
    secrets = FakeSecrets()
    secrets.is_down = True

    with pytest.raises(DependencyError):
        KeyStore(secrets, "s", max_age=300).ring()  # type: ignore[arg-type]


def test_find_unknown_kid_rereads_at_most_every_few_seconds(clock: list[float]) -> None:
    secrets = FakeSecrets()
    store = KeyStore(secrets, "s", max_age=300)  # type: ignore[arg-type]
    store.ring()
    calls = secrets.calls

    assert store.find("nope") is None
    assert secrets.calls == calls
    clock[0] += 6
    secrets.versions["AWSCURRENT"] = {"kid": "k2", "key": "b" * 64}
    assert store.find("k2") is not None
    assert secrets.calls == calls + 2


@pytest.mark.parametrize(
    "document", [{"kid": "k1"}, {"key": "a" * 64}, {"kid": "k1", "key": "short"}, {"kid": "", "key": "a" * 64}, []]
)
def test_ring_unusable_secret_value_is_refused(clock: list[float], document: Any) -> None:
    secrets = FakeSecrets()
    secrets.versions["AWSCURRENT"] = document

    with pytest.raises(DependencyError):
        KeyStore(secrets, "s", max_age=300).ring()  # type: ignore[arg-type]


def test_signing_key_repr_never_shows_the_key() -> None:
    from auth_core.keys import SigningKey

    assert "a" * 10 not in repr(SigningKey(kid="k1", secret=b"a" * 64))

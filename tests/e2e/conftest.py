"""The local API (`python -m infra.local`) running as a subprocess on a free port for the whole session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.localapi import ADMIN_EMAIL, ADMIN_PASSWORD, Client
from tests.local_server import free_port, running_local_api


@pytest.fixture(scope="session")
def consumer_port() -> int:
    """The port of the consumer example's REST API, which `python -m infra.local` serves beside the API."""
    return free_port()


@pytest.fixture(scope="session")
def base_url(consumer_port: int) -> Iterator[str]:
    settings = {
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "REFRESH_REUSE_GRACE_SECONDS": "0",  # a rotated-out refresh token presented again is reuse at once
        "CONSUMER_REST_PORT": str(consumer_port),
    }
    with running_local_api(settings) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Client:
    return Client(base_url)


@pytest.fixture
def email() -> str:
    """A fresh address per test: the server (and its users) live for the whole session."""
    return f"user-{uuid.uuid4().hex[:12]}@example.com"

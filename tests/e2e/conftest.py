"""The local API (`python -m infra.local`) running as a subprocess on a free port for the whole session."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_ENV
from tests.e2e.localapi import ADMIN_EMAIL, ADMIN_PASSWORD, Client

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


def local_env(port: int) -> dict[str, str]:
    """This process's environment without the test settings (tables, AWS) it set for moto, plus the local API's."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in TEST_ENV and not name.startswith(("AWS_", "POWERTOOLS_"))
    }
    return env | {
        "PORT": str(port),
        "BCRYPT_COST": "4",
        "ALLOW_WEAK_BCRYPT_COST": "true",
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "REFRESH_REUSE_GRACE_SECONDS": "0",  # a rotated-out refresh token presented again is reuse at once
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    port = free_port()
    with tempfile.NamedTemporaryFile("w+", prefix="local-api-", suffix=".log", delete=False) as output:
        log_path = Path(output.name)
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local"],
            cwd=ROOT,
            env=local_env(port),
            stdout=output,
            stderr=subprocess.STDOUT,
        )

    def output_so_far() -> str:
        return log_path.read_text(errors="replace")[-4000:]

    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not answers(port):
            if process.poll() is not None:
                pytest.fail(f"the local API exited with {process.returncode}:\n{output_so_far()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the local API did not answer within {START_TIMEOUT_SECONDS} s:\n{output_so_far()}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                pytest.fail(f"the local API did not stop within {STOP_TIMEOUT_SECONDS} s of SIGTERM")
            assert code == 0, f"the local API exited with {code} on SIGTERM:\n{output_so_far()}"
            assert "Traceback" not in output_so_far()
        log_path.unlink(missing_ok=True)


@pytest.fixture
def client(base_url: str) -> Client:
    return Client(base_url)


@pytest.fixture
def email() -> str:
    """A fresh address per test: the server (and its users) live for the whole session."""
    return f"user-{uuid.uuid4().hex[:12]}@example.com"

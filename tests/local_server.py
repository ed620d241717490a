"""The local API (`python -m infra.local`) as a subprocess on a free port, for the tests that drive it over HTTP
(tests/e2e, tests/browser, tests/security)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import TEST_ENV

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/openapi.json")
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


@contextmanager
def running_local_api(settings: dict[str, str]) -> Iterator[str]:
    """Start the local API with these settings (besides fast bcrypt and quiet logs) and yield its base URL; stop it
    with SIGTERM afterwards, which must end it cleanly (exit 0, no traceback)."""
    port = free_port()
    env = {  # this process's environment without the settings the in-process tests gave moto
        name: value
        for name, value in os.environ.items()
        if name not in TEST_ENV and not name.startswith(("AWS_", "POWERTOOLS_"))
    }
    env |= {"BCRYPT_COST": "4", "ALLOW_WEAK_BCRYPT_COST": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    env |= settings | {"PORT": str(port)}
    with tempfile.NamedTemporaryFile("w+", prefix="local-api-", suffix=".log", delete=False) as output:
        log_path = Path(output.name)
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
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
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the local API did not stop within {STOP_TIMEOUT_SECONDS} s of SIGTERM")
        assert code == 0, f"the local API exited with {code} on SIGTERM:\n{output_so_far()}"
        assert "Traceback" not in output_so_far()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log_path.unlink(missing_ok=True)

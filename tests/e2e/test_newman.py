"""The Postman collection (infra/postman/), run by newman against the local API.

The session's local API fits the collection as it is: it creates the admin from ADMIN_EMAIL / ADMIN_PASSWORD and runs
with REFRESH_REUSE_GRACE_SECONDS=0, which the collection's reuse request needs (a rotated-out refresh token presented
again is reuse at once), and its embedded backend serves the outbox (GET /_local/outbox) from which the collection's
script steps take the emailed links' tokens. newman comes with `make node` (infra/package-lock.json).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.localapi import ADMIN_EMAIL, ADMIN_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
NEWMAN = ROOT / "infra" / "node_modules" / ".bin" / "newman"
COLLECTION = ROOT / "infra" / "postman" / "serverless-jwt-auth.postman_collection.json"
ENVIRONMENT = ROOT / "infra" / "postman" / "local.postman_environment.json"
TIMEOUT_SECONDS = 120
MIN_REQUESTS = 33


def summary_row(output: str, name: str) -> tuple[int, int]:
    """(executed, failed) from a row of newman's cli summary table (box-drawing or --disable-unicode ASCII)."""
    match = re.search(rf"^\W*{name}\s*[│|]\s*(\d+)\s*[│|]\s*(\d+)\s*[│|]", output, re.MULTILINE)
    assert match, f"no {name!r} row in newman's summary:\n{output}"
    return int(match[1]), int(match[2])


def test_the_postman_collection_passes_against_the_local_api(request: pytest.FixtureRequest) -> None:
    if not NEWMAN.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{NEWMAN.relative_to(ROOT)} is missing: CI must run `make node` first")
        pytest.skip(f"{NEWMAN.relative_to(ROOT)} is missing: run `make node` to install newman")
    base_url: str = request.getfixturevalue("base_url")  # the session's local API, started only when needed

    command = [
        str(NEWMAN),
        "run",
        str(COLLECTION),
        "-e",
        str(ENVIRONMENT),
        "--env-var",
        f"baseUrl={base_url}",
        "--env-var",
        f"adminEmail={ADMIN_EMAIL}",
        "--env-var",
        f"adminPassword={ADMIN_PASSWORD}",
        "--reporters",
        "cli",
        "--bail",
        "--color",
        "off",
    ]
    try:
        run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        pytest.fail(f"newman did not finish within {TIMEOUT_SECONDS} s:\n{partial}")
    output = run.stdout + run.stderr
    if run.returncode != 0:
        print(output)
    assert run.returncode == 0, f"newman exited with {run.returncode}:\n{output}"

    requests, failed_requests = summary_row(output, "requests")
    assertions, failed_assertions = summary_row(output, "assertions")
    assert (failed_requests, failed_assertions) == (0, 0), output
    assert requests >= MIN_REQUESTS, f"newman ran {requests} requests, expected at least {MIN_REQUESTS}:\n{output}"
    assert assertions >= requests, output
    print(f"newman: {requests} requests, {assertions} assertions, 0 failed")

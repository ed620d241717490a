"""No secret-looking string is committed: cloud keys, private keys, tokens, password hashes, hard-coded passwords.

Test fixtures may hold made-up HMAC keys and passwords (they sign nothing real); nothing else may.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANYWHERE = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
    "JSON Web Token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}"),
    "bcrypt hash": re.compile(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}"),
    "Slack/GitHub token": re.compile(r"\b(xox[abpr]-[A-Za-z0-9-]{10,}|gh[pousr]_[A-Za-z0-9]{36})\b"),
}
OUTSIDE_TESTS = {
    "hard-coded secret": re.compile(
        r"""(?i)\b(secret|password|passwd|api[_-]?key|signing[_-]?key)\b["']?\s*[:=]\s*["'][^"'\s]{12,}["']"""
    ),
}
SKIP_SUFFIXES = {".gz", ".png", ".jpg", ".ico", ".lock"}


def tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in listed.splitlines() if Path(name).suffix not in SKIP_SUFFIXES]


def findings(relative: str, text: str) -> list[str]:
    patterns = dict(ANYWHERE)
    if not relative.startswith("tests/"):
        patterns.update(OUTSIDE_TESTS)
    return [f"{relative}: {name}" for name, pattern in patterns.items() if pattern.search(text)]


def read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, FileNotFoundError):
        return ""


def test_repository_tracked_files_hold_no_secret_looking_string():
    problems = [
        problem for path in tracked_files() for problem in findings(path.relative_to(ROOT).as_posix(), read(path))
    ]

    assert problems == []


@pytest.mark.parametrize(
    "sample",
    [
        "AKIA" + "ABCDEFGHIJKLMNOP",
        "-----BEGIN " + "PRIVATE KEY-----",
        "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0." + "x" * 43,
        "$2b$12$" + "a" * 53,
        'SIGNING_KEY = "' + "Zx81" * 4 + '"',
    ],
)
def test_repository_scan_recognizes_each_kind_of_secret(sample):
    assert findings("infra/example.py", sample) != []

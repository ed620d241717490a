"""The cursor codec on its own: sealed positions open again with the current or the previous key and no other, a
malformed cursor is refused before any key is read, and only what seals or opens a cursor loads `cryptography`.
The attacks through the API are in tests/security/test_forged_cursors.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auth_core.cursors import CursorCodec
from auth_core.errors import ValidationFailedError
from auth_core.keys import KeyRing, SigningKey
from tests.conftest import TEST_ENV

ROOT = Path(__file__).resolve().parents[2]
POSITION = {"email": {"S": "ada@example.com"}, "user_id": {"S": "u" * 22}}


class FakeKeys:
    """A KeyStore's ring, swappable; `reads` counts how often the codec asked for it."""

    def __init__(self, current: str, previous: str | None = None) -> None:
        self.reads = 0
        self.rotate_to(current, previous)

    def rotate_to(self, current: str, previous: str | None) -> None:
        key = lambda kid: SigningKey(kid=kid, secret=(kid * 64).encode()[:64])  # noqa: E731
        self._ring = KeyRing(current=key(current), previous=key(previous) if previous else None)

    def ring(self) -> KeyRing:
        self.reads += 1
        return self._ring


def codec(keys: FakeKeys) -> CursorCodec:
    return CursorCodec(keys)  # type: ignore[arg-type]


def test_seal_then_open_returns_the_position():
    keys = FakeKeys("k1")

    assert codec(keys).open(codec(keys).seal(POSITION)) == POSITION


def test_open_after_one_rotation_uses_previous_key_and_after_two_refuses():
    keys = FakeKeys("k1")
    cursor = codec(keys).seal(POSITION)

    keys.rotate_to("k2", "k1")
    assert codec(keys).open(cursor) == POSITION
    keys.rotate_to("k3", "k2")
    with pytest.raises(ValidationFailedError) as refused:
        codec(keys).open(cursor)

    assert refused.value.details == [{"field": "cursor", "message": "is not a cursor this API returned"}]


@pytest.mark.parametrize("cursor", ["", "A", "AAAAA", "e30=", "e3+", "!" * 40, "A" * 36, "A" * 2049, "é"])
def test_open_malformed_cursor_refuses_without_reading_keys(cursor):
    keys = FakeKeys("k1")

    with pytest.raises(ValidationFailedError):
        codec(keys).open(cursor)

    assert keys.reads == 0


def test_seal_same_position_twice_gives_different_cursors_of_the_same_length():
    keys = FakeKeys("k1")
    longer = {"email": {"S": "a" * 200 + "@example.com"}, "user_id": {"S": "u" * 22}}

    cursors = [codec(keys).seal(POSITION), codec(keys).seal(POSITION), codec(keys).seal(longer)]

    assert len(set(cursors)) == 3
    assert len({len(cursor) for cursor in cursors}) == 1


def test_importing_any_function_loads_no_cryptography_until_a_cursor_is_used():
    """No cold start pays for OpenSSL's bindings, the authorizer's least of all; sealing or opening a cursor does.
    The layer has no pyOpenSSL, so there botocore never reaches `cryptography` through urllib3; the test environment
    has it (a dev dependency), so it is hidden here the way the layer lacks it."""
    assert "pyopenssl" not in (ROOT / "layers/shared/requirements.txt").read_text().lower()
    code = (
        "import sys; sys.modules['OpenSSL'] = None\n"
        "loaded = lambda: any(name.startswith('cryptography') for name in sys.modules)\n"
        "import functions.authorizer.app, functions.login.app, functions.refresh.app, functions.me.app\n"
        "import functions.admin.app\n"
        "at_import = loaded()\n"
        "from auth_core.cursors import CursorCodec\n"
        "from auth_core.keys import KeyRing, SigningKey\n"
        "ring = KeyRing(current=SigningKey(kid='k', secret=b'k' * 32), previous=None)\n"
        "CursorCodec(type('Keys', (), {'ring': lambda self: ring})()).seal({})\n"
        "print(at_import, loaded())"
    )
    env = {**TEST_ENV, "PATH": os.environ.get("PATH", "")}

    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)

    assert run.stdout.split() == ["False", "True"]

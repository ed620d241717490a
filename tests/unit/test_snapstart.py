"""auth_core.snapstart: the SnapStart hooks, run by a stand-in for Lambda's runtime (snapshot_restore_py exists only
there): before the snapshot the clients are built; after each restore the cached keys are forgotten and `random` is
re-seeded, the clients kept."""

from __future__ import annotations

import random
import sys
import types
from collections.abc import Callable, Iterator

import pytest

from auth_core import container, snapstart


class FakeRuntime:
    """Lambda's runtime as far as the hooks see it: it collects the registered hooks and runs them in its order."""

    def __init__(self) -> None:
        self.before: list[Callable[[], None]] = []
        self.after: list[Callable[[], None]] = []

    def register_before_snapshot(self, hook: Callable[[], None]) -> Callable[[], None]:
        self.before.append(hook)
        return hook

    def register_after_restore(self, hook: Callable[[], None]) -> Callable[[], None]:
        self.after.append(hook)
        return hook

    def snapshot(self) -> None:
        for hook in self.before:
            hook()

    def restore(self) -> None:
        for hook in self.after:
            hook()


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch, aws: object) -> Iterator[FakeRuntime]:
    fake = FakeRuntime()
    module = types.ModuleType("snapshot_restore_py")
    module.register_before_snapshot = fake.register_before_snapshot  # type: ignore[attr-defined]
    module.register_after_restore = fake.register_after_restore  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    container.reset()
    yield fake
    container.reset()


def test_register_with_runtime_outside_lambda_registers_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # an import of it fails, as outside Lambda

    assert snapstart.register_with_runtime() is False


def test_hooks_before_snapshot_build_clients_after_restore_forget_keys_and_reseed(runtime: FakeRuntime) -> None:
    assert snapstart.register_with_runtime() is True
    assert (runtime.before, runtime.after) == ([snapstart.before_snapshot], [snapstart.after_restore])

    runtime.snapshot()
    client = container.dynamodb()
    assert container.dynamodb.cache_info().hits == 1  # built by the hook, before the snapshot
    keys = container.public_keys()
    verifier = container.access_verifier()
    random.seed(7)
    replayed = random.random()
    random.seed(7)

    runtime.restore()

    assert container.dynamodb() is client  # the clients survive a restore
    assert container.public_keys() is not keys  # the cached keys do not, nor what holds them
    assert container.access_verifier() is not verifier
    assert random.random() != replayed  # each restored environment draws its own numbers

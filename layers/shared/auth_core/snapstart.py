"""Lambda SnapStart runtime hooks (the SnapStart template parameter; README "SnapStart").

With SnapStart on, Lambda initializes a published version once, snapshots its memory, and starts each new environment
from a restore of that snapshot. Before the snapshot we import what the first request would import and build the AWS
clients; after each restore we undo what must not be shared between environments that start from one snapshot:
- the cached key material (the public keys, the service's secret): its age is counted on a monotonic clock that a
  restore does not carry over, so a cache from the snapshot could look fresh for longer than its bound; the objects
  holding it are built again on first use (cheap: everything is imported), and the AWS clients are kept;
- `random`'s state, which every restored environment would otherwise replay (tokens and ids use `secrets`, the
  kernel's generator, which a restore does not copy; `random` is re-seeded for whatever else uses it).

`snapshot_restore_py` exists only in Lambda's Python runtime: elsewhere nothing is registered.
"""

from __future__ import annotations

import importlib
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

# What a first request imports after the handler's module: ES256 verification and signing (cryptography), and the
# email validator (auth_core.models imports it on the first email read).
FIRST_USE_MODULES = (
    "email_validator",
    "cryptography.exceptions",
    "cryptography.hazmat.primitives.hashes",
    "cryptography.hazmat.primitives.asymmetric.ec",
    "cryptography.hazmat.primitives.asymmetric.utils",
)


def before_snapshot() -> None:
    """Import what the first request would, and build the DynamoDB and Secrets Manager clients (no network call)."""
    from auth_core import container

    for name in FIRST_USE_MODULES:
        importlib.import_module(name)
    container.dynamodb()
    container.secretsmanager()


def after_restore() -> None:
    """Forget the cached keys (and every object holding them) but keep the clients; re-seed `random`."""
    from auth_core import container

    container.forget_cached_keys()
    random.seed()


def register(
    before: Callable[[Callable[[], None]], object] | None, after: Callable[[Callable[[], None]], object] | None
) -> bool:
    """Register the hooks with the runtime's decorators; False where there is no runtime to register with."""
    if before is None or after is None:
        return False
    before(before_snapshot)
    after(after_restore)
    return True


def register_with_runtime() -> bool:
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot  # type: ignore[import-not-found]
    except ImportError:  # not in Lambda's Python runtime
        return False
    return register(register_before_snapshot, register_after_restore)

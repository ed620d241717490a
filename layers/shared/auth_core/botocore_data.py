"""botocore's own data, cut to the services this code calls: what a cold start reads of it, at a fraction of the cost.

Creating the first client reads `endpoints.json` (1.2 MB: every service's endpoints, ~30 ms to parse), walks
botocore's data directory twice to list its ~440 services (~20 ms), and parses the service model with every
operation's documentation (DynamoDB: 556 kB, of which 80 % is documentation). `auth_core/botocore_data/<version>/`
holds the same files for the services in SERVICES only, written by `make botocore-data` from the installed botocore:
- `endpoints.json` with each partition's `services` cut to SERVICES (everything else byte for byte the same);
- each service's latest API version without its examples, and its `service-2` without `documentation` members;
- the other top-level files (`partitions.json`, `_retry.json`, `sdk-default-configuration.json`) as they are.

`loader()` returns a botocore Loader that searches that directory alone, so a service outside SERVICES is unknown to
the clients made with it. It is None when the operator points botocore at data of their own, or when the directory is
not for the installed botocore (a dependency update without `make botocore-data`): the clients then read botocore's
data as usual. tests/unit/test_botocore_data.py fails
when the committed directory differs from what the installed botocore gives, when botocore starts creating clients
of a service not in SERVICES, and when a client made with it resolves another endpoint or signs for another scope.
"""

from __future__ import annotations

import os
from pathlib import Path

import botocore
from botocore.loaders import Loader

# What auth_core calls, then what botocore itself may create for credentials (assume role, web identity, SSO, login).
SERVICES = ("dynamodb", "kms", "secretsmanager", "sesv2", "signin", "sso", "sso-oidc", "sts")
DATA = Path(__file__).with_name("botocore_data")


def data_directory(version: str = botocore.__version__) -> Path:
    return DATA / version


class TrimmedDataLoader(Loader):
    """A Loader of the trimmed data only, which counts as botocore's built-in data: its `endpoints.json` is botocore's
    own (cut to SERVICES), and a non-built-in one would make botocore hand the legacy endpoint to the endpoint rule
    sets as a custom endpoint (botocore.args, `resolver_uses_builtin_data`), which the clients must not see."""

    def __init__(self, directory: Path) -> None:
        super().__init__(extra_search_paths=[str(directory)], include_default_search_paths=False)
        self._directory = str(directory)

    def is_builtin_path(self, path: str) -> bool:
        return path.startswith(self._directory) or super().is_builtin_path(path)


def loader(data_path: str | None = None) -> Loader | None:
    """The trimmed loader, unless the operator gave botocore data of their own (`data_path`: AWS_DATA_PATH or the
    config file's `data_path`; or `~/.aws/models`), which botocore's own loader honours (an endpoints.json that routes
    through a proxy, say), or the data is not for the installed botocore."""
    directory = data_directory()
    if data_path or os.path.isdir(Loader.CUSTOMER_DATA_PATH) or not directory.is_dir():
        return None
    return TrimmedDataLoader(directory)

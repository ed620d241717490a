"""`make botocore-data`: write auth_core/botocore_data/<version>/ from the installed botocore (see that module).

Deterministic (gzip without a timestamp), so tests/unit/test_botocore_data.py can regenerate it and
compare. Directories for other botocore versions are removed.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import botocore
from botocore.loaders import Loader

from auth_core.botocore_data import DATA, SERVICES, data_directory

BOTOCORE_DATA = Path(Loader.BUILTIN_DATA_PATH)


def _without_documentation(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_documentation(item) for key, item in value.items() if key != "documentation"}
    if isinstance(value, list):
        return [_without_documentation(item) for item in value]
    return value


def _read(path: Path) -> Any:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return json.loads(raw)


def _write(path: Path, data: Any) -> None:
    text = json.dumps(data, separators=(",", ":")).encode()  # members keep their order: botocore serializes in it
    path.write_bytes(gzip.compress(text, mtime=0) if path.suffix == ".gz" else text)


def _latest_version(service: str) -> Path:
    """The API version botocore's Loader picks: the newest directory that has a service model."""
    versions = [path for path in (BOTOCORE_DATA / service).iterdir() if any(path.glob("service-2.json*"))]
    return max(versions, key=lambda path: path.name)


def generate(target: Path) -> None:
    target.mkdir(parents=True)
    for source in sorted(BOTOCORE_DATA.glob("*.json")):
        if source.name != "endpoints.json":
            shutil.copyfile(source, target / source.name)
            continue
        endpoints = _read(source)
        for partition in endpoints["partitions"]:
            partition["services"] = {name: value for name, value in partition["services"].items() if name in SERVICES}
        _write(target / source.name, endpoints)
    for service in SERVICES:
        version = _latest_version(service)
        (target / service / version.name).mkdir(parents=True)
        for source in sorted(version.iterdir()):
            if source.name.startswith("examples-"):
                continue
            if source.name.startswith("service-2.json"):
                _write(target / service / version.name / source.name, _without_documentation(_read(source)))
            else:
                shutil.copyfile(source, target / service / version.name / source.name)


def main() -> int:
    target = data_directory()
    shutil.rmtree(DATA, ignore_errors=True)
    generate(target)
    size = sum(path.stat().st_size for path in target.rglob("*") if path.is_file())
    print(
        f"{target.relative_to(Path.cwd())}: {len(SERVICES)} services of botocore {botocore.__version__}, {size:,} bytes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""auth_core.deferred_init: a package's `__init__` runs when one of its own names is read, and nothing else differs.

The first tests use a package of their own; the last ones import every function in a fresh process, as Lambda does,
and prove that none of them runs the event handler's `__init__` (so none loads the AppSync resolver or asyncio), and
that the deferred package still gives every name it exports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from auth_core.deferred_init import defer

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted(path.parent.name for path in (ROOT / "functions").glob("*/app.py"))


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    root = tmp_path / "deferred_pkg"
    root.mkdir()
    (root / "__init__.py").write_text(
        "from deferred_pkg.heavy import Heavy\nfrom deferred_pkg import light\nlight.INIT_RUNS += 1\nRUNS = light.INIT_RUNS\n"
    )
    (root / "heavy.py").write_text("class Heavy: ...\n")
    (root / "light.py").write_text("VALUE = 42\nINIT_RUNS = 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "deferred_pkg"
    for name in [name for name in sys.modules if name.startswith("deferred_pkg")]:
        del sys.modules[name]


def test_a_submodule_imports_without_the_init(package: str) -> None:
    defer(package)
    from deferred_pkg import light  # type: ignore[import-not-found]
    from deferred_pkg.light import VALUE  # type: ignore[import-not-found]

    assert light.VALUE == VALUE == 42
    assert light.INIT_RUNS == 0
    assert "deferred_pkg.heavy" not in sys.modules


def test_a_name_the_init_imports_from_a_submodule_comes_from_that_submodule_alone(package: str) -> None:
    defer(package)
    from deferred_pkg import Heavy  # type: ignore[import-not-found]

    assert Heavy is sys.modules["deferred_pkg.heavy"].Heavy
    assert "deferred_pkg.light" not in sys.modules  # the __init__ did not run


def test_any_other_name_runs_the_init_once(package: str) -> None:
    defer(package)
    module = sys.modules[package]

    assert module.RUNS == 1
    assert module.Heavy is sys.modules["deferred_pkg.heavy"].Heavy
    with pytest.raises(AttributeError):
        _ = module.missing
    assert sys.modules["deferred_pkg.light"].INIT_RUNS == 1


def test_threads_reading_names_at_once_all_get_them_and_the_init_runs_once(package: str) -> None:
    defer(package)
    module = sys.modules[package]
    start = threading.Barrier(8)
    seen: list[object] = []

    def read(attribute: str) -> None:
        start.wait()
        seen.append(getattr(module, attribute))

    threads = [threading.Thread(target=read, args=("RUNS" if i % 2 else "Heavy",)) for i in range(8)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch as often as they can: a window left open is found
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert seen.count(1) == 4
    assert seen.count(sys.modules["deferred_pkg.heavy"].Heavy) == 4
    assert sys.modules["deferred_pkg.light"].INIT_RUNS == 1


def test_a_package_already_imported_or_absent_is_left_alone(package: str) -> None:
    import deferred_pkg  # type: ignore[import-not-found]

    assert defer(package) is deferred_pkg
    assert deferred_pkg.RUNS == 1
    assert defer("no_such_package_here") is None


CHILD = """
import importlib, json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import app
loaded = {"appsync": "aws_lambda_powertools.event_handler.appsync" in sys.modules, "asyncio": "asyncio" in sys.modules}
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, AppSyncResolver
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver as Rest
import aws_lambda_powertools.event_handler as package
print(json.dumps(loaded | {"same": APIGatewayRestResolver is Rest, "all": sorted(package.__all__)}))
"""


def test_no_function_runs_the_event_handlers_init_and_it_still_exports_everything() -> None:
    reference = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, aws_lambda_powertools.event_handler as p; print(json.dumps(sorted(p.__all__)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    every_name = json.loads(reference.stdout)
    env = os.environ | {"POWERTOOLS_METRICS_DISABLED": "true"}
    for function in FUNCTIONS:
        completed = subprocess.run(
            [sys.executable, "-c", CHILD, str(ROOT / "functions" / function), str(ROOT / "layers" / "shared")],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert completed.returncode == 0, (function, completed.stderr[-2000:])
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        assert result == {"appsync": False, "asyncio": False, "same": True, "all": every_name}, function

"""A package imported without running its `__init__` until one of its own names is read (PEP 562).

Some packages' `__init__` imports every submodule to re-export its names: `aws_lambda_powertools.event_handler`
imports each resolver (AppSync's alone brings asyncio, ~40 ms of a cold start) and `botocore.docs` every
documenter, where we import one submodule. `defer(name)` puts the package in `sys.modules` as the real module with
its `__init__` not yet run:
- importing a submodule (`import package.sub`, `from package import sub`) imports just that submodule, as it would;
- a name the `__init__` imports from one of its submodules (`from package.sub import Name`, read from its source) is
  taken from that submodule alone: the same object the `__init__` would have bound;
- reading any other name (`__all__`, say) runs the real `__init__` once, in the same module object, and returns it.
So `from package import Anything` keeps working and gives what it always gave (tests/unit/test_deferred_init.py).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import threading
import types
from typing import Any


def defer(name: str) -> types.ModuleType | None:
    """The package `name` with its `__init__` deferred (None if it is not installed); nothing to do once imported."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return None
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader
    lock = threading.RLock()
    ran: list[bool] = []

    @functools.cache  # parsed on first use: a function that never reads a name from the package never parses it
    def exported() -> dict[str, tuple[str, str]]:
        return _names_from_submodules(name, spec.origin)

    def load_on_first_use(attribute: str) -> Any:
        if attribute in exported():
            submodule, original = exported()[attribute]
            value = getattr(importlib.import_module(submodule), original)
            setattr(package, attribute, value)
            return value
        if not attribute.startswith("__") and importlib.util.find_spec(f"{name}.{attribute}") is not None:
            return importlib.import_module(f"{name}.{attribute}")
        with lock:  # one thread runs the __init__; the others wait for it, then read what it defined
            if not ran:
                ran.append(True)
                try:
                    loader.exec_module(package)
                finally:
                    del package.__getattr__  # a name the real package lacks is then an ordinary AttributeError
        if attribute in vars(package):  # during the __init__ (re-entrant), only what it has defined so far
            return vars(package)[attribute]
        raise AttributeError(f"module {name!r} has no attribute {attribute!r}")

    package.__getattr__ = load_on_first_use  # type: ignore[method-assign]
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, package)  # as importing it would
    return package


def _names_from_submodules(package: str, origin: str | None) -> dict[str, tuple[str, str]]:
    """What the package's `__init__` imports from its own submodules at its top level: name -> (submodule, name)."""
    if not origin or not origin.endswith(".py"):
        return {}
    import ast  # only here: ~4 ms of a cold start that never needs it

    with open(origin, encoding="utf-8") as source:
        tree = ast.parse(source.read(), origin)
    names: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        module = f"{package}.{node.module}" if node.level == 1 else node.module
        if node.level > 1 or not module.startswith(f"{package}."):
            continue
        for alias in node.names:
            if alias.name != "*":
                names[alias.asname or alias.name] = (module, alias.name)
    return names

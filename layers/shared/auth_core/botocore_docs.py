"""botocore without its documentation code on a cold start: `botocore.docs` loads when a docstring is read, not before.

Creating a client imports `botocore.docs` (about a third of botocore's import time) for two reasons only:
`botocore.handlers` reads three small classes from `botocore.docs.utils`, whose package `__init__` imports the whole
documenter; and `botocore.client` / `botocore.waiter` bind the lazy docstring classes of `botocore.docs.docstring`,
which import the method, paginator and waiter documenters. Nothing on a request's path reads a docstring.

`install()`, called before botocore's session is imported, puts two stand-ins in `sys.modules` while botocore imports:
- `botocore.docs` is the real package with its `__init__` deferred (`auth_core.deferred_init`), so
  `botocore.docs.utils` (and any other submodule) imports as the real module it is;
- `botocore.docs.docstring` is a module of deferring docstrings: each is a `str` like botocore's own
  `LazyLoadedDocstring`, keeps its arguments, and hands them to the real class of the same name when read (`help()`,
  `__doc__`), so a client documents exactly what it would have. The stand-in leaves `sys.modules` as soon as botocore is
  imported: a later `import botocore.docs.docstring` gets the real module.
tests/unit/test_botocore_docs.py fails when botocore's imports of `botocore.docs` change under this, and proves that a
client made under it works (on moto) and documents the same text.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any, SupportsIndex

from auth_core import deferred_init

PACKAGE = "botocore.docs"
DOCSTRING = "botocore.docs.docstring"
# The names botocore's modules import from botocore.docs.docstring (botocore.client: the first two; botocore.waiter).
DOCSTRING_CLASSES = ("ClientMethodDocstring", "PaginatorDocstring", "WaiterDocstring")


class DeferredDocstring(str):
    """Stands for one of botocore's LazyLoadedDocstring classes: the same arguments, the real class on first read."""

    real_name = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> DeferredDocstring:
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._args, self._kwargs = args, kwargs
        self._text: str | None = None

    def _generate(self) -> str:
        if self._text is None:
            real_class = getattr(importlib.import_module(DOCSTRING), self.real_name)
            self._text = str(real_class(*self._args, **self._kwargs))
        return self._text

    # What inspect.cleandoc (help()) calls, as botocore's own class knows.
    def expandtabs(self, tabsize: SupportsIndex = 8) -> str:
        return self._generate().expandtabs(tabsize)

    def __str__(self) -> str:
        return self._generate()

    __repr__ = __str__


def _deferred_docstring_module() -> types.ModuleType:
    module = types.ModuleType(DOCSTRING, "Stand-in for botocore.docs.docstring while botocore imports.")
    for name in DOCSTRING_CLASSES:
        setattr(module, name, type(name, (DeferredDocstring,), {"real_name": name, "__module__": __name__}))
    return module


def install() -> None:
    """Import botocore's session, client and waiter without botocore.docs; nothing to do once botocore's client
    module is loaded (it already bound its docstring classes)."""
    if "botocore.client" in sys.modules or PACKAGE in sys.modules or deferred_init.defer(PACKAGE) is None:
        return
    sys.modules[DOCSTRING] = _deferred_docstring_module()
    try:
        importlib.import_module("botocore.session")
    finally:
        del sys.modules[DOCSTRING]

"""The template's functions, run in this process as Lambda runs them: imported once (the init phase), then each
invocation with a context object, a timeout, and a result that must be JSON.

By default one invocation runs at a time, whatever the function. One warm Lambda environment runs one invocation at
a time; here every function shares one process, and Powertools keeps the event being resolved on a class
(`BaseRouter.current_event`), so two functions resolving at once would read each other's request. `serialize=False`
lets invocations overlap, as several environments would: tests of races need that.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import threading
import time
import traceback
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.cfn import resources_of_type
from infra.gateway.template import ACCOUNT_ID, properties_of

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import ModuleType

    from infra.gateway.template import TemplateValues


@dataclass
class Function:
    logical_id: str
    file: Path
    module_name: str
    attribute: str
    timeout_seconds: float
    memory_mb: int
    module: ModuleType | None = field(default=None, repr=False)


class InvocationError(Exception):
    """The function failed as Lambda reports it to API Gateway (an exception, a timeout, a result that isn't JSON)."""


class LocalLambdaContext:
    """The attributes of Lambda's context object that handlers (and Powertools) read."""

    function_version = "$LATEST"
    identity = None
    client_context = None

    def __init__(self, function: Function, request_id: str, region: str) -> None:
        self.function_name = function.logical_id
        self.memory_limit_in_mb = function.memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function.logical_id}"
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function.logical_id}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def read_functions(template: Mapping[str, Any], root: Path, values: TemplateValues) -> dict[str, Function]:
    """The functions whose code the gateway can run (a local CodeUri, a module.function Handler), by logical id."""
    defaults: Mapping[str, Any] = (template.get("Globals") or {}).get("Function") or {}
    return {
        logical_id: function
        for logical_id, resource in resources_of_type(dict(template), "AWS::Serverless::Function").items()
        if (function := _function(logical_id, properties_of(resource), defaults, root, values))
    }


def _function(
    logical_id: str, properties: Mapping[str, Any], defaults: Mapping[str, Any], root: Path, values: TemplateValues
) -> Function | None:
    def setting(name: str, fallback: Any) -> Any:
        return values.resolve(properties.get(name, defaults.get(name, fallback)))

    code_uri, handler = setting("CodeUri", None), setting("Handler", None)
    if not isinstance(code_uri, str) or not isinstance(handler, str) or "." not in handler:
        return None  # S3 or inline code, a container image: refused when a route or an authorizer uses it
    module_path, _, attribute = handler.rpartition(".")
    code_dir = (root / code_uri).resolve()
    try:
        package = code_dir.relative_to(root).parts
    except ValueError:
        package = ("_local_lambda", logical_id)
    # The module's dotted name from the root (functions.me.app): tests that import it get the same module object.
    parts = [re.sub(r"\W", "_", part) for part in (*package, *module_path.split("."))]
    return Function(
        logical_id=logical_id,
        file=code_dir.joinpath(*module_path.split(".")).with_suffix(".py"),
        module_name=".".join(parts),
        attribute=attribute,
        timeout_seconds=float(setting("Timeout", 3)),
        memory_mb=int(setting("MemorySize", 128)),
    )


class Lambdas:
    """Imports and invokes the functions; what goes wrong is logged (as CloudWatch would have it), never returned."""

    def __init__(
        self, functions: dict[str, Function], *, region: str, log: Callable[[str], None], serialize: bool
    ) -> None:
        self.functions = functions
        self._region = region
        self._log = log
        self._serialize = serialize
        self._load_lock = threading.Lock()
        self._invoke_lock = threading.Lock()

    def module(self, logical_id: str) -> ModuleType:
        """The imported module of a function's handler (its `Handler` attribute is looked up on every call)."""
        function = self.functions[logical_id]
        if function.module is None:
            with self._load_lock:
                if function.module is None:
                    function.module = _reuse_or_import(function.module_name, function.file)
        return function.module

    def invoke(self, logical_id: str, event: dict[str, Any], request_id: str) -> Any:
        """Run the handler as Lambda would; InvocationError for what Lambda reports as a function error."""
        function = self.functions[logical_id]
        try:
            handler = getattr(self.module(logical_id), function.attribute)
        except Exception as exc:
            self._log(f"{logical_id}: init failed:\n{traceback.format_exc().rstrip()}")
            raise InvocationError("init failed") from exc
        context = LocalLambdaContext(function, request_id, self._region)
        started = time.perf_counter()
        with self._invoke_lock if self._serialize else nullcontext():
            try:
                result = handler(event, context)
            except Exception as exc:
                self._log(f"{logical_id}: unhandled exception:\n{traceback.format_exc().rstrip()}")
                raise InvocationError(str(exc)) from exc
        elapsed = time.perf_counter() - started
        if elapsed > function.timeout_seconds:
            self._log(f"{logical_id}: ran {elapsed:.1f} s, past its Timeout of {function.timeout_seconds} s")
            raise InvocationError("Task timed out")
        try:
            return json.loads(json.dumps(result))  # what Lambda's runtime sends back is JSON
        except (TypeError, ValueError) as exc:
            self._log(f"{logical_id}: the result is not JSON-serializable ({type(result).__name__})")
            raise InvocationError("Runtime.MarshalError") from exc


def _reuse_or_import(module_name: str, file: Path) -> ModuleType:
    existing = sys.modules.get(module_name)
    if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve() == file:
        return existing
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module

"""For tests that call one handler directly, without the gateway: the sample events in events/, the handler of a
function directory, and a Lambda context object."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[1] / "events"


class LambdaContext:
    function_name = "test-function"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id = "test-invocation"


def load_event(name: str) -> dict[str, Any]:
    """A sample API Gateway event, events/<name>.json (a fresh copy each time)."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def handler_of(function: str) -> Any:
    """The `handler` of functions/<function>/app.py."""
    return importlib.import_module(f"functions.{function}.app").handler

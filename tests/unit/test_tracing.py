"""X-Ray SDK tracing is opt-in: off, the handler is untouched and the SDK is never imported."""

from __future__ import annotations

import subprocess
import sys


def run(enabled: str) -> str:
    code = (
        "from auth_core.tracing import traced\n"
        "def handler(event, context): return 1\n"
        "wrapped = traced(handler)\n"
        "import sys; print(wrapped is handler, 'aws_xray_sdk.core' in sys.modules)"
    )
    env = {"XRAY_SDK_TRACING": enabled, "POWERTOOLS_TRACE_DISABLED": "true", "PATH": ""}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout


def test_traced_when_disabled_returns_handler_and_imports_no_sdk():
    assert run("false").split() == ["True", "False"]


def test_traced_when_enabled_wraps_handler_with_powertools_tracer():
    assert run("true").split() == ["False", "True"]

"""Fixtures of the local gateway's tests: a gateway over the real template, and a spy on a function's handler."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from infra.cfn import load_template
from infra.gateway import LocalGateway
from tests.unit.gateway.support import ROOT


@pytest.fixture
def log() -> list[str]:
    return []


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture
def make_gateway(template: dict[str, Any], log: list[str]) -> Callable[..., LocalGateway]:
    """A gateway over the real template. Tests that reach DynamoDB or Secrets Manager also take the `aws` fixture
    (moto); the others stop at the gateway or answer with a stub, and need no AWS at all."""

    def make(**options: Any) -> LocalGateway:
        return LocalGateway(template, ROOT, log=log.append, **options)

    return make


@pytest.fixture
def gateway(make_gateway: Callable[..., LocalGateway]) -> LocalGateway:
    return make_gateway()


@pytest.fixture
def spy(gateway: LocalGateway, monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[dict[str, Any]]]:
    """spy("MeFunction") records the events the function gets; spy(..., answer=fn) answers with fn instead."""

    def install(logical_id: str, answer: Callable[[dict[str, Any], Any], Any] | None = None) -> list[dict[str, Any]]:
        module = gateway.handler_module(logical_id)
        original = module.handler
        events: list[dict[str, Any]] = []

        def handler(event: dict[str, Any], context: Any) -> Any:
            events.append(copy.deepcopy(event))
            return (answer or original)(event, context)

        monkeypatch.setattr(module, "handler", handler)
        return events

    return install

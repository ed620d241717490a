"""A TOKEN authorizer's answer read as API Gateway reads it: a principal, an IAM policy, a context of scalars."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

Statement = tuple[str, tuple[str, ...], tuple[str, ...]]  # effect, actions, resources


@dataclass(frozen=True)
class Policy:
    principal_id: str
    statements: tuple[Statement, ...]
    context: dict[str, str | None]  # values already stringified, as API Gateway passes them on

    def allows(self, method_arn: str) -> bool:
        """IAM's rule: an explicit Deny wins, and without an Allow that covers the ARN the answer is no."""

        def applies(actions: tuple[str, ...], resources: tuple[str, ...]) -> bool:
            return any(wildcard(action, "execute-api:Invoke", ignore_case=True) for action in actions) and any(
                wildcard(resource, method_arn) for resource in resources
            )

        effects = {effect for effect, actions, resources in self.statements if applies(actions, resources)}
        return "Allow" in effects and "Deny" not in effects


def wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM-style matching: `*` any run of characters, `?` one character."""
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None


def is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def policy_of(result: Any) -> Policy | None:
    """The authorizer's answer as a policy, or None when API Gateway can't use it (AUTHORIZER_CONFIGURATION_ERROR)."""
    if not isinstance(result, dict) or not isinstance(result.get("principalId"), str):
        return None
    document = result.get("policyDocument")
    if not isinstance(document, dict):
        return None
    raw_statements = document.get("Statement")
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        return None
    statements = [_statement(statement) for statement in raw_statements]
    context = result.get("context") or {}
    if not isinstance(context, dict) or not all(value is None or is_scalar(value) for value in context.values()):
        return None  # API Gateway refuses nested objects and arrays in the context
    if any(statement is None for statement in statements):
        return None
    return Policy(
        principal_id=result["principalId"],
        statements=tuple(statement for statement in statements if statement is not None),
        context={str(key): _context_text(value) for key, value in context.items()},
    )


def _statement(statement: Any) -> Statement | None:
    if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
        return None
    actions, resources = statement.get("Action"), statement.get("Resource")
    actions = [actions] if isinstance(actions, str) else actions
    resources = [resources] if isinstance(resources, str) else resources
    if not (isinstance(actions, list) and all(isinstance(action, str) for action in actions)):
        return None
    if not (isinstance(resources, list) and all(isinstance(resource, str) for resource in resources)):
        return None
    return str(statement["Effect"]), tuple(actions), tuple(resources)


def _context_text(value: Any) -> str | None:
    """An authorizer context value as API Gateway passes it on: stringified (`true`, `123`), null kept."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return str(value)

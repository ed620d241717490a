"""Small helpers shared by the repositories: attribute (de)serialization and error translation."""

from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from auth_core.errors import DependencyError, ServiceError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

Item = dict[str, Any]


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: float) -> dict[str, str]:
    # Decimal keeps the millisecond instants exact through the round trip.
    return {"N": str(Decimal(str(value)))}


def read_s(item: Item, name: str, default: str | None = None) -> str | None:
    value = item.get(name)
    return value["S"] if value is not None else default


def read_n(item: Item, name: str, default: float = 0.0) -> float:
    value = item.get(name)
    return float(value["N"]) if value is not None else default


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def cancellation_codes(exc: ClientError) -> list[str]:
    """The per-item reasons of a cancelled transaction, in the order of its items ("None" where that item passed)."""
    return [reason.get("Code", "None") for reason in exc.response.get("CancellationReasons", [])]


@contextmanager
def dependency_call(on_condition_failed: Callable[[], ServiceError] | None = None) -> Iterator[None]:
    """Turn a failed condition into the caller's domain error and any other DynamoDB (or KMS) failure into a clean 503
    (the cause stays chained on the exception for the logs, never in the response)."""
    try:
        yield
    except ClientError as exc:
        if on_condition_failed is not None and error_code(exc) == "ConditionalCheckFailedException":
            raise on_condition_failed() from exc
        raise DependencyError() from exc
    except BotoCoreError as exc:
        raise DependencyError() from exc

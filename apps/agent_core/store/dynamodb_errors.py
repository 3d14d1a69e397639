"""Turning botocore failures into ``StoreError`` messages that name the cause, and retrying conflicts.

Conditional-check failures are not handled here: each store method turns them into what they mean
(``RunExists``, ``VersionConflict``, ``RunNotFound``) before anything reaches ``store_errors``.
botocore's own retries (standard mode) have run before any error arrives here; they do not cover a
write refused because a transaction is in flight on its item, which ``retry_conflicts`` does.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from apps.agent_core.store.base import StoreError

__all__ = ["error_code", "pause", "retry_conflicts", "store_errors"]

T = TypeVar("T")

_ACCESS_CODES = frozenset(
    {"AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException"}
)
_THROTTLE_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})
_CONFLICT_ATTEMPTS = 5
_FIRST_PAUSE = 0.01
_LONGEST_PAUSE = 0.2


def error_code(exc: ClientError) -> str:
    error: Any = exc.response.get("Error", {})
    return str(error.get("Code", ""))


def pause(attempt: int) -> None:
    """Sleep before retry ``attempt + 1``: jittered and growing, so racing writers spread out."""
    time.sleep(random.uniform(0, min(_LONGEST_PAUSE, _FIRST_PAUSE * 2**attempt)))


def retry_conflicts(call: Callable[[], T]) -> T:
    """``call()``, repeated a few times while DynamoDB refuses it for a transaction in flight on its item.

    Such a refusal (``TransactionConflictException``) changed nothing, so repeating is safe. Once-keyed
    appends are transactions on a run's header item; the header's single-item writes pass through here.
    """
    for attempt in range(_CONFLICT_ATTEMPTS - 1):
        try:
            return call()
        except ClientError as exc:
            if error_code(exc) != "TransactionConflictException":
                raise
        pause(attempt)
    return call()


@contextmanager
def store_errors(table: str) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        if code == "ResourceNotFoundException":
            message = f"the run store's DynamoDB table {table!r} does not exist (or is not in this region)"
        elif code in _ACCESS_CODES:
            message = f"access to the run store's DynamoDB table {table!r} was denied ({code}); check the IAM role"
        elif code in _THROTTLE_CODES:
            message = f"DynamoDB throttled the run store ({code}) after retries; try again shortly"
        elif code == "ValidationException":
            error: Any = exc.response.get("Error", {})
            message = f"DynamoDB rejected a run store request: {error.get('Message', code)}"
        else:
            message = f"the run store's DynamoDB call failed ({code or 'unknown error'}); try again later"
        raise StoreError(message) from exc
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise StoreError("the run store has no AWS credentials (the default credential chain found none)") from exc
    except NoRegionError as exc:
        raise StoreError("the run store has no AWS region configured (set AWS_REGION)") from exc
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as exc:
        raise StoreError(f"could not reach DynamoDB for the run store's table {table!r}: {exc}") from exc
    except BotoCoreError as exc:
        raise StoreError(f"the run store's DynamoDB call failed ({type(exc).__name__}); try again later") from exc

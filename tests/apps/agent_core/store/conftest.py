"""Fixtures for the run store tests only."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication


@pytest.fixture
def isolated_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the session's moto server answer one request at a time, as isolated as DynamoDB's own writes.

    Moto serves requests on parallel threads without a lock, and its TransactWriteItems checks the
    conditions, writes, and on failure restores a deep copy of the table as separate steps: two
    concurrent transactions can both pass one condition, and a cancelled one can undo another's writes.
    DynamoDB serializes transactions. With this, the store's calls still interleave freely (a writer's
    read goes stale before its transaction), but each call is atomic, as on DynamoDB.
    """
    lock = threading.Lock()
    dispatch = DomainDispatcherApplication.__call__

    def one_at_a_time(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
        with lock:  # Flask has built the whole response by the time the call returns
            return dispatch(self, environ, start_response)

    monkeypatch.setattr(DomainDispatcherApplication, "__call__", one_at_a_time)

"""Fixtures for the custom server's tests: one fake wttr.in per module, reset between tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_wttr import FakeWttr, run_fake_wttr


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def fake_wttr_server() -> Iterator[FakeWttr]:
    with run_fake_wttr() as fake:
        yield fake


@pytest.fixture
def wttr(fake_wttr_server: FakeWttr) -> FakeWttr:
    fake_wttr_server.clear()
    return fake_wttr_server
